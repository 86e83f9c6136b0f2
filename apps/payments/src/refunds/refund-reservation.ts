import { DomainError } from '#common/errors.js';
import type { Payment } from '../payments/payment.entity.js';

/**
 * Refuses a refund of a payment that cannot be refunded at all, whatever the amount: one that did
 * not succeed, a disputed one, or one asked in another currency.
 */
export function assertRefundable(
  payment: Pick<Payment, 'status' | 'providerPaymentId' | 'disputed' | 'currency'>,
  amount: { currency: string } | undefined,
): void {
  if (payment.status !== 'succeeded' || !payment.providerPaymentId) {
    throw new DomainError(
      'precondition_failed',
      `Only a succeeded payment can be refunded; this one is ${payment.status}.`,
    );
  }
  if (payment.disputed) {
    throw new DomainError('precondition_failed', 'A disputed payment cannot be refunded.');
  }
  if (amount && amount.currency !== payment.currency) {
    throw DomainError.validation([
      {
        field: 'amount.currency',
        message: `must be the payment's currency, ${payment.currency}`,
      },
    ]);
  }
}

/**
 * The amount a new refund reserves: what was asked for, or (nothing asked) all that remains once
 * the refunds holding part of the payment (`held`: in progress or done) are counted. Refuses when
 * nothing remains or the request exceeds it.
 */
export function amountToReserve(
  payment: Pick<Payment, 'amount' | 'currency'>,
  held: number,
  requested: number | undefined,
): number {
  const remaining = payment.amount - held;
  if (remaining <= 0) {
    throw new DomainError('precondition_failed', 'The payment is already fully refunded.');
  }
  const amount = requested ?? remaining;
  if (amount > remaining) {
    throw new DomainError(
      'precondition_failed',
      `The refund of ${amount} exceeds the ${remaining} ${payment.currency} not yet refunded.`,
    );
  }
  return amount;
}
