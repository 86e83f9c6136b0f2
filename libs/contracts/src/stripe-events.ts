import type Stripe from 'stripe';

/**
 * The Stripe event types payments applies (apps/payments/src/webhooks/stripe-event-effects.ts,
 * whose type makes it handle exactly these). Its webhook endpoint subscribes to these only
 * (Stripe's `enabled_events`), as Stripe advises: an event payments would only record as ignored
 * (e.g. `payment_intent.created`, sent for every checkout) is a request, a signature check and a
 * transaction spent on nothing.
 */
export const STRIPE_WEBHOOK_EVENTS = [
  'payment_intent.processing',
  'payment_intent.requires_action',
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'payment_intent.canceled',
  'payment_intent.amount_capturable_updated',
  'charge.succeeded',
  'charge.updated',
  'charge.refunded',
  'refund.created',
  'refund.updated',
  'refund.failed',
  'charge.dispute.created',
] as const satisfies readonly Stripe.Event['type'][];

export type StripeWebhookEventType = (typeof STRIPE_WEBHOOK_EVENTS)[number];
