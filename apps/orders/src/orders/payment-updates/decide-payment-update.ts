import { DomainError } from '#common/errors.js';
import { canTransition, type OrderStatus } from '../order-status.js';
import type { LockedOrder } from '../orders.repository.js';
import { orderStatusForPayment, type PaymentSnapshot } from './payment-snapshot.js';

/**
 * What a payment snapshot does to an order as its row lock shows it: nothing (`stale`), or the
 * status the order takes with the payment's fields. `refused` names the status the payment called
 * for when the transition table refused it; the order then keeps its status.
 */
export type PaymentUpdateDecision =
  { stale: true } | { stale: false; status: OrderStatus; refused?: OrderStatus };

/**
 * Decides an update without I/O. Throws when the update cannot be applied now (the order has no
 * payment yet: retry) or ever (the payment is not this order's).
 */
export function decidePaymentUpdate(
  order: LockedOrder,
  payment: PaymentSnapshot,
): PaymentUpdateDecision {
  if (!order.paymentId) {
    // The checkout (or reconciliation) attaches it in a moment: a retry then succeeds, so the
    // outbox must retry this, not park it as refused.
    throw new DomainError('unavailable', `Order ${order.id} has no payment yet; retry.`, [], {
      retryAfterSeconds: 1,
    });
  }
  if (order.paymentId !== payment.paymentId) {
    throw new DomainError(
      'precondition_failed',
      `Payment ${payment.paymentId} is not the payment of order ${order.id}.`,
    );
  }
  if (payment.version <= order.paymentVersion) return { stale: true };
  const wanted = orderStatusForPayment(payment, order.amount);
  return canTransition(order.status, wanted)
    ? { stale: false, status: wanted }
    : { stale: false, status: order.status, refused: wanted };
}
