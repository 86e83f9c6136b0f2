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

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return from === to || ORDER_TRANSITIONS[from].includes(to);
}
