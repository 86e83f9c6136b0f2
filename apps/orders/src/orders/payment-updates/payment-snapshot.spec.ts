import { describe, expect, it } from '@jest/globals';
import type { OrderStatus } from '../order-status.js';
import {
  orderStatusForPayment,
  parseGrpcSnapshot,
  type PaymentSnapshot,
} from './payment-snapshot.js';
import type { PaymentIntentStatus } from '#contracts/payment-status.js';

const AMOUNT = 3899;

describe(orderStatusForPayment.name, () => {
  const table: [
    PaymentIntentStatus,
    { amountRefunded?: number; disputed?: boolean; failureCode?: string },
    OrderStatus,
  ][] = [
    ['succeeded', {}, 'paid'],
    ['succeeded', { amountRefunded: 1 }, 'partially_refunded'],
    ['succeeded', { amountRefunded: AMOUNT - 1 }, 'partially_refunded'],
    ['succeeded', { amountRefunded: AMOUNT }, 'refunded'],
    ['succeeded', { amountRefunded: AMOUNT + 1 }, 'refunded'],
    ['succeeded', { disputed: true }, 'disputed'],
    ['succeeded', { disputed: true, amountRefunded: 100 }, 'disputed'],
    ['succeeded', { disputed: true, amountRefunded: AMOUNT }, 'refunded'],
    ['requires_payment_method', { failureCode: 'card_declined' }, 'payment_failed'],
    ['requires_payment_method', {}, 'awaiting_payment'],
    ['requires_confirmation', {}, 'awaiting_payment'],
    ['requires_action', {}, 'awaiting_payment'],
    ['processing', {}, 'awaiting_payment'],
    ['requires_capture', {}, 'awaiting_payment'],
    // A failure code left over from an earlier attempt does not matter once the payment moves on.
    ['processing', { failureCode: 'card_declined' }, 'awaiting_payment'],
    ['canceled', {}, 'canceled'],
    ['canceled', { failureCode: 'card_declined' }, 'canceled'],
  ];

  it.each(table)('maps %s %j to %s', (status, fields, expected) => {
    const payment = {
      status,
      amountRefunded: fields.amountRefunded ?? 0,
      disputed: fields.disputed ?? false,
      failureCode: fields.failureCode ?? null,
    };
    expect(orderStatusForPayment(payment, AMOUNT)).toBe(expected);
  });
});

describe(parseGrpcSnapshot.name, () => {
  const valid = {
    orderId: '0b9f7a3e-6d0e-4c3a-9a56-0a4b1f0c2d3e',
    paymentId: '5d1c2b3a-1111-4222-8333-444455556666',
    paymentStatus: 'PAYMENT_STATUS_SUCCEEDED',
    paymentVersion: '9223372036854775807',
    amountRefunded: '0',
    disputed: false,
    failureCode: '',
  };

  it('turns the wire form into a snapshot', () => {
    const expected: PaymentSnapshot = {
      orderId: valid.orderId,
      paymentId: valid.paymentId,
      status: 'succeeded',
      version: 9223372036854775807n,
      amountRefunded: 0,
      disputed: false,
      failureCode: null,
    };
    expect(parseGrpcSnapshot(valid)).toEqual(expected);
  });

  it.each([
    ['orderId', { orderId: 'nope' }],
    ['paymentId', { paymentId: '' }],
    ['paymentStatus', { paymentStatus: 'PAYMENT_STATUS_UNSPECIFIED' }],
    ['paymentStatus', { paymentStatus: 'UNRECOGNIZED' }],
    ['paymentVersion', { paymentVersion: '0' }],
    ['paymentVersion', { paymentVersion: '9223372036854775808' }],
    ['paymentVersion', { paymentVersion: '-1' }],
    ['amountRefunded', { amountRefunded: '-5' }],
  ])('refuses a bad %s', (field, patch) => {
    expect(() => parseGrpcSnapshot({ ...valid, ...patch })).toThrow(
      expect.objectContaining({
        code: 'validation_failed',
        fields: [expect.objectContaining({ field })],
      }),
    );
  });
});
