/**
 * Stripe's PaymentIntent statuses, as both services store and show them
 * (https://docs.stripe.com/payments/paymentintents/lifecycle). On the wire they are the
 * payments.v1.PaymentStatus enum.
 */
export const PAYMENT_INTENT_STATUSES = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
  'processing',
  'requires_capture',
  'canceled',
  'succeeded',
] as const;

export type PaymentIntentStatus = (typeof PAYMENT_INTENT_STATUSES)[number];

/** `PAYMENT_STATUS_REQUIRES_PAYMENT_METHOD` -> `requires_payment_method`, as Stripe names it. */
export function paymentStatusName(status: string): string {
  return status.replace(/^PAYMENT_STATUS_/, '').toLowerCase();
}
