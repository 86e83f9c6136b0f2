/**
 * The order lifecycle. An order is created `pending_payment`, becomes `awaiting_payment` once its
 * payment exists, and follows the payment from there.
 */
export const ORDER_STATUSES = [
  'pending_payment',
  'awaiting_payment',
  'paid',
  'payment_failed',
  'canceled',
  'partially_refunded',
  'refunded',
  'disputed',
] as const;

export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Who moved an order, as recorded in its status history. */
export type StatusChangeSource = 'payment_update' | 'reconciliation' | 'customer' | 'admin';

/** Allowed moves. Staying in the same state is always allowed and changes nothing. */
export const ORDER_TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending_payment: ['awaiting_payment', 'canceled'],
  awaiting_payment: ['paid', 'payment_failed', 'canceled'],
  // The customer may try another card after a decline.
  payment_failed: ['awaiting_payment', 'paid', 'canceled'],
  paid: ['partially_refunded', 'refunded', 'disputed'],
  partially_refunded: ['refunded', 'disputed'],
  // A dispute that closes in the merchant's favour returns the order to where it stood before:
  // paid, or partially refunded when part of it had been refunded before the dispute.
  disputed: ['paid', 'partially_refunded', 'refunded'],
  refunded: [],
  canceled: [],
};

/**
 * What a customer's cancel meets in each status. Only an unpaid order with a payment is canceled
 * (with its PaymentIntent); a `pending_payment` order first obtains its payment, which it may have
 * at payments without knowing it, and is then asked again; a canceled one stays as it is; a paid
 * one needs a refund instead.
 */
export type CancelRule =
  | 'cancelable'
  | 'obtain_payment_first'
  | 'canceled_already'
  | 'paid_needs_refund'
  | 'refunded_already';

export const CANCEL_RULES: Readonly<Record<OrderStatus, CancelRule>> = {
  pending_payment: 'obtain_payment_first',
  awaiting_payment: 'cancelable',
  payment_failed: 'cancelable',
  canceled: 'canceled_already',
  paid: 'paid_needs_refund',
  partially_refunded: 'paid_needs_refund',
  disputed: 'paid_needs_refund',
  refunded: 'refunded_already',
};

/**
 * What a refund request meets in each status, by orders' own record. Only a paid order with
 * money left on it is refundable; an order that was never paid has nothing to refund (cancel it
 * instead); the others were paid, so payments, whose account is authoritative, decides first.
 */
export type RefundRule = 'refundable' | 'disputed' | 'refunded_already' | 'not_paid';

export const REFUND_RULES: Readonly<Record<OrderStatus, RefundRule>> = {
  pending_payment: 'not_paid',
  awaiting_payment: 'not_paid',
  payment_failed: 'not_paid',
  canceled: 'not_paid',
  paid: 'refundable',
  partially_refunded: 'refundable',
  // Stripe refuses refunds of a disputed charge; the dispute's outcome settles the money.
  disputed: 'disputed',
  refunded: 'refunded_already',
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return from === to || ORDER_TRANSITIONS[from].includes(to);
}
