import { describe, expect, it } from '@jest/globals';
import type { Payment } from '../payments/payment.entity.js';
import { amountToReserve, assertRefundable } from './refund-reservation.js';

// How much of a payment a new refund may reserve, under the payment's row lock.

type Refundable = Pick<
  Payment,
  'status' | 'providerPaymentId' | 'disputed' | 'currency' | 'amount'
>;

function payment(overrides: Partial<Refundable> = {}): Refundable {
  return {
    status: 'succeeded',
    providerPaymentId: 'pi_1',
    disputed: false,
    currency: 'usd',
    amount: 3000,
    ...overrides,
  };
}

describe(assertRefundable.name, () => {
  it('accepts a succeeded payment, with or without an amount in its currency', () => {
    expect(() => assertRefundable(payment(), undefined)).not.toThrow();
    expect(() => assertRefundable(payment(), { currency: 'usd' })).not.toThrow();
  });

  it.each([['requires_payment_method'], ['processing'], ['canceled'], ['creating']] as [
    Payment['status'],
  ][])('refuses a payment that is %s', (status) => {
    expect(() => assertRefundable(payment({ status }), undefined)).toThrow(
      expect.objectContaining({
        code: 'precondition_failed',
        message: `Only a succeeded payment can be refunded; this one is ${status}.`,
      }),
    );
  });

  it('refuses a succeeded payment Stripe does not know', () => {
    expect(() => assertRefundable(payment({ providerPaymentId: null }), undefined)).toThrow(
      expect.objectContaining({ code: 'precondition_failed' }),
    );
  });

  it('refuses a disputed payment', () => {
    expect(() => assertRefundable(payment({ disputed: true }), undefined)).toThrow(
      expect.objectContaining({
        code: 'precondition_failed',
        message: 'A disputed payment cannot be refunded.',
      }),
    );
  });

  it('refuses an amount in another currency as invalid input', () => {
    expect(() => assertRefundable(payment(), { currency: 'eur' })).toThrow(
      expect.objectContaining({
        code: 'validation_failed',
        fields: [{ field: 'amount.currency', message: "must be the payment's currency, usd" }],
      }),
    );
  });

  it('reports the state before the dispute or the currency', () => {
    expect(() =>
      assertRefundable(payment({ status: 'processing', disputed: true }), { currency: 'eur' }),
    ).toThrow(expect.objectContaining({ code: 'precondition_failed' }));
  });
});

describe(amountToReserve.name, () => {
  it('reserves what was asked for when it remains', () => {
    expect(amountToReserve(payment(), 0, 1000)).toBe(1000);
    expect(amountToReserve(payment(), 1000, 2000)).toBe(2000);
  });

  it('reserves all that remains when no amount was asked for', () => {
    expect(amountToReserve(payment(), 0, undefined)).toBe(3000);
    expect(amountToReserve(payment(), 1200, undefined)).toBe(1800);
  });

  it('counts pending reservations as held: they may still succeed', () => {
    // 2500 held by refunds in progress or done leaves 500, whatever has succeeded so far.
    expect(() => amountToReserve(payment(), 2500, 600)).toThrow(
      expect.objectContaining({
        code: 'precondition_failed',
        message: 'The refund of 600 exceeds the 500 usd not yet refunded.',
      }),
    );
  });

  it.each([[3000], [3500]])('refuses any refund once %s is held', (held) => {
    for (const requested of [undefined, 1]) {
      expect(() => amountToReserve(payment(), held, requested)).toThrow(
        expect.objectContaining({
          code: 'precondition_failed',
          message: 'The payment is already fully refunded.',
        }),
      );
    }
  });
});
