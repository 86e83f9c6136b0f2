import { randomUUID } from 'node:crypto';
import { Payment } from '../../apps/payments/src/payments/payment.entity.js';

/** A payment being created, as CreatePayment builds it; `overrides` set what a test is about. */
export function newPayment(overrides: Partial<Payment> = {}): Payment {
  const at = new Date('2026-12-01T10:00:00.000Z');
  return Object.assign(new Payment(), {
    id: randomUUID(),
    orderId: randomUUID(),
    customerId: 'customer-1',
    amount: 4200,
    currency: 'eur',
    status: 'creating',
    providerPaymentId: null,
    clientSecret: null,
    version: 1,
    amountRefunded: 0,
    failureCode: null,
    failureMessage: null,
    latestChargeId: null,
    receiptUrl: null,
    disputed: false,
    stripeStatusAt: null,
    checkoutTraceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    createIdempotencyKey: randomUUID(),
    createdAt: at,
    updatedAt: at,
    ...overrides,
  } satisfies Payment);
}
