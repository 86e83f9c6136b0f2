import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { DEV_WEBHOOK_SECRET } from '#common/config/defaults.js';

/** Real Stripe objects (test/fixtures/stripe, from stripe-mock) to build events from. */
function fixture<T>(name: string): T {
  return JSON.parse(
    readFileSync(new URL(`../fixtures/stripe/${name}.json`, import.meta.url), 'utf8'),
  ) as T;
}

const stripe = new Stripe('sk_test_fixtures');

export function paymentIntent(overrides: Partial<Stripe.PaymentIntent>): Stripe.PaymentIntent {
  return {
    ...fixture<Stripe.PaymentIntent>('payment_intent'),
    last_payment_error: null,
    next_action: null,
    latest_charge: null,
    ...overrides,
  };
}

export function charge(overrides: Partial<Stripe.Charge>): Stripe.Charge {
  return { ...fixture<Stripe.Charge>('charge'), ...overrides };
}

export function dispute(overrides: Partial<Stripe.Dispute>): Stripe.Dispute {
  return { ...fixture<Stripe.Dispute>('dispute'), ...overrides };
}

export function event(
  type: string,
  object: object,
  overrides: Partial<Stripe.Event> = {},
): Stripe.Event {
  // Built loosely and cast once: checking a literal against Stripe's union of every event type
  // costs the type checker minutes.
  const built: Record<string, unknown> = {
    ...fixture<Record<string, unknown>>('event'),
    id: `evt_${randomBytes(12).toString('hex')}`,
    type,
    created: Math.floor(Date.now() / 1000),
    data: { object },
    ...overrides,
  };
  return built as unknown as Stripe.Event;
}

/** A delivery as Stripe makes it: the exact bytes and their signature header. */
export function signed(
  stripeEvent: Stripe.Event,
  options: { secret?: string; timestamp?: number } = {},
): { payload: string; signature: string } {
  const payload = JSON.stringify(stripeEvent, null, 2);
  const signature = stripe.webhooks.generateTestHeaderString({
    payload,
    secret: options.secret ?? DEV_WEBHOOK_SECRET,
    timestamp: options.timestamp,
  });
  return { payload, signature };
}

/** The signature header for any text, as Stripe would sign it. */
export function signedText(payload: string, timestamp?: number): string {
  return stripe.webhooks.generateTestHeaderString({
    payload,
    secret: DEV_WEBHOOK_SECRET,
    timestamp,
  });
}

export function deliver(
  paymentsUrl: string,
  delivery: { payload: string; signature?: string },
): Promise<Response> {
  return fetch(`${paymentsUrl}/webhooks/stripe`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      ...(delivery.signature && { 'stripe-signature': delivery.signature }),
    },
    body: delivery.payload,
  });
}
