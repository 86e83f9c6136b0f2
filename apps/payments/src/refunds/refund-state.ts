import type { RefundState } from './refund.entity.js';

/** The states Stripe reports of a refund (https://docs.stripe.com/api/refunds/object). */
const REPORTED_BY_STRIPE: readonly RefundState[] = [
  'pending',
  'requires_action',
  'succeeded',
  'failed',
  'canceled',
];

/**
 * Allowed moves of a refund. It is `creating` until Stripe has it (or `failed` when Stripe refuses
 * it), then follows what Stripe reports, which may fail a succeeded refund later (the customer's
 * bank returned the money). `failed` and `canceled` are final: such a refund no longer holds any
 * of the payment, so a later report must not make it hold again. Staying is always allowed.
 */
export const REFUND_TRANSITIONS: Readonly<Record<RefundState, readonly RefundState[]>> = {
  creating: REPORTED_BY_STRIPE,
  pending: REPORTED_BY_STRIPE,
  requires_action: REPORTED_BY_STRIPE,
  succeeded: REPORTED_BY_STRIPE,
  failed: [],
  canceled: [],
};

export function canRefundTransition(from: RefundState, to: RefundState): boolean {
  return from === to || REFUND_TRANSITIONS[from].includes(to);
}

export function isFinalRefundState(state: RefundState): boolean {
  return REFUND_TRANSITIONS[state].length === 0;
}

/** The state a refund takes when Stripe reports `reported`: that, unless the table refuses it. */
export function nextRefundState(from: RefundState, reported: RefundState): RefundState {
  return canRefundTransition(from, reported) ? reported : from;
}
