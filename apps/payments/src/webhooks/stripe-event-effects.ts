import type Stripe from 'stripe';
import { STRIPE_WEBHOOK_EVENTS, type StripeWebhookEventType } from '#contracts/stripe-events.js';
import { applyCharge, applyIntent } from '../payments/apply-intent.js';
import type { PaymentChange } from '../payments/payment-changes.js';
import type { RefundsService } from '../refunds/refunds.service.js';

/** An event of a subscribed type, its `data.object` typed by the Stripe SDK for that type. */
export type SubscribedEvent<T extends StripeWebhookEventType = StripeWebhookEventType> = Extract<
  Stripe.Event,
  { type: T }
>;

/**
 * One effect per subscribed event type: a type of STRIPE_WEBHOOK_EVENTS without an effect, or an
 * effect for a type payments does not subscribe to, does not compile.
 */
type StripeEventEffects = {
  [T in StripeWebhookEventType]: (
    event: SubscribedEvent<T>,
    refunds: RefundsService,
  ) => PaymentChange;
};

const intentChanged =
  (event: { created: number; data: { object: Stripe.PaymentIntent } }): PaymentChange =>
  (payment) =>
    applyIntent(payment, event.data.object, new Date(event.created * 1000));

/** A charge's own fields, and the refunds it lists. */
const chargeChanged =
  (event: { data: { object: Stripe.Charge } }, refunds: RefundsService): PaymentChange =>
  async (payment, tx) => {
    const charge = event.data.object;
    let changed = applyCharge(payment, charge);
    for (const refund of charge.refunds?.data ?? []) {
      changed = (await refunds.applyStripeRefund(payment, refund, tx)) || changed;
    }
    return changed;
  };

const refundChanged =
  (event: { data: { object: Stripe.Refund } }, refunds: RefundsService): PaymentChange =>
  (payment, tx) =>
    refunds.applyStripeRefund(payment, event.data.object, tx);

const disputed = (): PaymentChange => (payment) => {
  if (payment.disputed) return false;
  payment.disputed = true;
  return true;
};

const EFFECTS: StripeEventEffects = {
  'payment_intent.processing': intentChanged,
  'payment_intent.requires_action': intentChanged,
  'payment_intent.succeeded': intentChanged,
  'payment_intent.payment_failed': intentChanged,
  'payment_intent.canceled': intentChanged,
  'payment_intent.amount_capturable_updated': intentChanged,
  'charge.succeeded': chargeChanged,
  'charge.updated': chargeChanged,
  'charge.refunded': chargeChanged,
  'refund.created': refundChanged,
  'refund.updated': refundChanged,
  'refund.failed': refundChanged,
  'charge.dispute.created': disputed,
};

export function isSubscribed(event: Stripe.Event): event is SubscribedEvent {
  return (STRIPE_WEBHOOK_EVENTS as readonly string[]).includes(event.type);
}

/** What `event`, of type `type`, does to its payment. */
export function effectOf<T extends StripeWebhookEventType>(
  type: T,
  event: SubscribedEvent<T>,
  refunds: RefundsService,
): PaymentChange {
  return EFFECTS[type](event, refunds);
}
