import { describe, expect, it } from '@jest/globals';
import { PAYMENT_INTENT_STATUSES } from '#contracts/payment-status.js';
import { ORDER_STATUSES, ORDER_TRANSITIONS, type OrderStatus } from '../order-status.js';
import type { LockedOrder } from '../orders.repository.js';
import { decidePaymentUpdate } from './decide-payment-update.js';
import type { PaymentSnapshot } from './payment-snapshot.js';

// What each payment update does to each order, as its row lock shows it: applied, refused by the
// lifecycle (the order keeps its status), stale, or not applicable at all.

const ORDER_ID = '0b9f7a3e-5c1d-4e8a-9f6b-2d3c4b5a6e7f';
const PAYMENT_ID = '6f1c3a52-9d0e-4b7a-8c21-3e5f7a9b1d20';
const AMOUNT = 3000;

function order(status: OrderStatus, overrides: Partial<LockedOrder> = {}): LockedOrder {
  return {
    id: ORDER_ID,
    status,
    amount: AMOUNT,
    paymentId: PAYMENT_ID,
    paymentVersion: 3n,
    ...overrides,
  };
}

function payment(overrides: Partial<PaymentSnapshot> = {}): PaymentSnapshot {
  return {
    orderId: ORDER_ID,
    paymentId: PAYMENT_ID,
    status: 'succeeded',
    version: 4n,
    amountRefunded: 0,
    disputed: false,
    failureCode: null,
    ...overrides,
  };
}

describe(decidePaymentUpdate.name, () => {
  const applied: [string, OrderStatus, Partial<PaymentSnapshot>, OrderStatus][] = [
    ['a payment that succeeds', 'awaiting_payment', {}, 'paid'],
    [
      'a declined attempt',
      'awaiting_payment',
      { status: 'requires_payment_method', failureCode: 'card_declined' },
      'payment_failed',
    ],
    [
      'a new attempt after a decline',
      'payment_failed',
      { status: 'processing' },
      'awaiting_payment',
    ],
    ['a success after a decline', 'payment_failed', {}, 'paid'],
    ['a canceled payment', 'awaiting_payment', { status: 'canceled' }, 'canceled'],
    ['a partial refund', 'paid', { amountRefunded: 1000 }, 'partially_refunded'],
    ['a full refund', 'partially_refunded', { amountRefunded: AMOUNT }, 'refunded'],
    ['a dispute', 'paid', { disputed: true }, 'disputed'],
    ['a dispute won', 'disputed', {}, 'paid'],
    [
      'a dispute won after a partial refund',
      'disputed',
      { amountRefunded: 500 },
      'partially_refunded',
    ],
    [
      'a full refund during a dispute',
      'disputed',
      { disputed: true, amountRefunded: AMOUNT },
      'refunded',
    ],
    ['a repeated status at a newer version', 'paid', {}, 'paid'],
  ];

  it.each(applied)('applies %s: %s becomes %s', (_, from, fields, to) => {
    expect(decidePaymentUpdate(order(from), payment(fields))).toEqual({ stale: false, status: to });
  });

  const refused: [string, OrderStatus, Partial<PaymentSnapshot>, OrderStatus][] = [
    ['a payment succeeding on a canceled order', 'canceled', {}, 'paid'],
    ['a dispute on a refunded order', 'refunded', { disputed: true }, 'disputed'],
    [
      'a paid order going back to awaiting payment',
      'paid',
      { status: 'processing' },
      'awaiting_payment',
    ],
    ['a paid order canceled', 'paid', { status: 'canceled' }, 'canceled'],
  ];

  it.each(refused)('refuses %s: %s stays, not %s', (_, from, fields, wanted) => {
    expect(decidePaymentUpdate(order(from), payment(fields))).toEqual({
      stale: false,
      status: from,
      refused: wanted,
    });
  });

  it.each([[3n], [2n]])('ignores version %s, not newer than the one applied (3)', (version) => {
    expect(decidePaymentUpdate(order('awaiting_payment'), payment({ version }))).toEqual({
      stale: true,
    });
  });

  it('asks for a retry while the order has no payment yet', () => {
    expect(() =>
      decidePaymentUpdate(order('pending_payment', { paymentId: null }), payment()),
    ).toThrow(expect.objectContaining({ code: 'unavailable', retryAfterSeconds: 1 }));
  });

  it("refuses a payment that is not the order's", () => {
    const other = payment({ paymentId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d' });
    expect(() => decidePaymentUpdate(order('awaiting_payment'), other)).toThrow(
      expect.objectContaining({ code: 'precondition_failed' }),
    );
  });

  it('checks the payment before the version: a stale update of another payment is refused', () => {
    const other = payment({ paymentId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', version: 1n });
    expect(() => decidePaymentUpdate(order('paid'), other)).toThrow(
      expect.objectContaining({ code: 'precondition_failed' }),
    );
  });

  it('never moves an order out of a terminal status, whatever the payment says', () => {
    const terminal = ORDER_STATUSES.filter((status) => ORDER_TRANSITIONS[status].length === 0);
    for (const from of terminal) {
      for (const status of PAYMENT_INTENT_STATUSES) {
        for (const fields of [{}, { disputed: true }, { amountRefunded: 1 }]) {
          const decision = decidePaymentUpdate(order(from), payment({ status, ...fields }));
          expect(decision).toMatchObject({ stale: false, status: from });
        }
      }
    }
  });

  it('takes only moves the lifecycle allows, from every status, for every payment status', () => {
    for (const from of ORDER_STATUSES) {
      for (const status of PAYMENT_INTENT_STATUSES) {
        const decision = decidePaymentUpdate(order(from), payment({ status }));
        if (decision.stale) throw new Error('a newer version is never stale');
        if (decision.refused) {
          expect(decision.status).toBe(from);
          expect(ORDER_TRANSITIONS[from]).not.toContain(decision.refused);
        } else {
          expect([from, ...ORDER_TRANSITIONS[from]]).toContain(decision.status);
        }
      }
    }
  });
});
