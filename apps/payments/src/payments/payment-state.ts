import { PaymentStatus } from '#contracts/generated/payments/v1/payments.js';
import { PAYMENT_INTENT_STATUSES } from '#contracts/payment-status.js';

/**
 * A payment's state: `creating` until its Stripe PaymentIntent exists, then the PaymentIntent's own
 * status (https://docs.stripe.com/payments/paymentintents/lifecycle).
 */
export const PAYMENT_STATES = ['creating', ...PAYMENT_INTENT_STATUSES] as const;

export type PaymentState = (typeof PAYMENT_STATES)[number];

const ACTIVE: PaymentState[] = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
  'processing',
  'requires_capture',
];

/**
 * Allowed moves of a payment, after Stripe's PaymentIntent lifecycle. `succeeded` and `canceled`
 * are terminal; a failed attempt (back to `requires_payment_method`) is not: the customer may
 * pay with another method. Staying in the same state is always allowed.
 */
export const PAYMENT_TRANSITIONS: Readonly<Record<PaymentState, readonly PaymentState[]>> = {
  creating: [...ACTIVE, 'succeeded', 'canceled'],
  requires_payment_method: [...ACTIVE, 'succeeded', 'canceled'],
  requires_confirmation: [...ACTIVE, 'succeeded', 'canceled'],
  requires_action: [...ACTIVE, 'succeeded', 'canceled'],
  processing: [
    'requires_payment_method',
    'requires_action',
    'requires_capture',
    'succeeded',
    'canceled',
  ],
  requires_capture: ['processing', 'succeeded', 'canceled'],
  succeeded: [],
  canceled: [],
};

export function canPaymentTransition(from: PaymentState, to: PaymentState): boolean {
  return from === to || PAYMENT_TRANSITIONS[from].includes(to);
}

const TO_PROTO: Record<PaymentState, PaymentStatus> = {
  creating: PaymentStatus.PAYMENT_STATUS_UNSPECIFIED,
  requires_payment_method: PaymentStatus.PAYMENT_STATUS_REQUIRES_PAYMENT_METHOD,
  requires_confirmation: PaymentStatus.PAYMENT_STATUS_REQUIRES_CONFIRMATION,
  requires_action: PaymentStatus.PAYMENT_STATUS_REQUIRES_ACTION,
  processing: PaymentStatus.PAYMENT_STATUS_PROCESSING,
  requires_capture: PaymentStatus.PAYMENT_STATUS_REQUIRES_CAPTURE,
  canceled: PaymentStatus.PAYMENT_STATUS_CANCELED,
  succeeded: PaymentStatus.PAYMENT_STATUS_SUCCEEDED,
};

export function toProtoStatus(state: PaymentState): PaymentStatus {
  return TO_PROTO[state];
}

export function isPaymentState(value: string): value is PaymentState {
  return (PAYMENT_STATES as readonly string[]).includes(value);
}
