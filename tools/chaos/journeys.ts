// What each simulated shopper does: a checkout, then paying, a declined card, a cancel, or
// nothing; paid orders are refunded in part, sometimes by two requests at once. Every write
// carries its own Idempotency-Key and is retried with it until it gets a final answer.
import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { signDevToken } from '../dev/token.js';
import type { Final, Storefront } from './storefront.js';

const CART = {
  currency: 'usd',
  items: [{ sku: 'CHAOS-1', name: 'Chaos mug', quantity: 2, unitAmount: 1250 }],
};
const AMOUNT = 2500;

/** What a journey saw: the invariants are checked against it. */
export interface JourneyRecord {
  customer: string;
  checkoutKey: string;
  /** Every order id a 201 answered for the checkout key (one, however often it was retried). */
  orderIds: Set<string>;
  action: 'pay' | 'decline' | 'cancel' | 'leave';
  /** Refund requests that got a 201, and their amounts. */
  refunds: { key: string; amount: number; id: string }[];
  /** Writes that got no final answer before their deadline. */
  unanswered: string[];
}

export interface JourneyContext {
  storefront: Storefront;
  stripe: Stripe;
  runId: string;
}

function pick<T>(weighted: [T, number][]): T {
  let roll = Math.random() * weighted.reduce((sum, [, weight]) => sum + weight, 0);
  for (const [value, weight] of weighted) {
    roll -= weight;
    if (roll < 0) return value;
  }
  return weighted[0][0];
}

export async function journey(context: JourneyContext, n: number): Promise<JourneyRecord> {
  const { storefront, stripe } = context;
  const customer = `chaos-${context.runId}-${n}`;
  const auth = { authorization: `Bearer ${await signDevToken(customer)}` };
  const record: JourneyRecord = {
    customer,
    checkoutKey: randomUUID(),
    orderIds: new Set(),
    action: pick([
      ['pay', 5],
      ['decline', 1.5],
      ['cancel', 2],
      ['leave', 1.5],
    ]),
    refunds: [],
    unanswered: [],
  };
  const write = async (operation: string, path: string, key: string, body?: unknown) => {
    const final = await storefront.send(
      operation,
      'POST',
      path,
      { ...auth, 'idempotency-key': key },
      body,
    );
    if (!final) record.unanswered.push(operation);
    return final;
  };

  const created = await write('checkout', '/api/v1/orders', record.checkoutKey, CART);
  if (created?.status !== 201) return record;
  const order = created.body as { id: string; payment: { clientSecret: string } | null };
  record.orderIds.add(order.id);
  // A replay of the same key must answer the same order.
  const replayed = await write('checkout replay', '/api/v1/orders', record.checkoutKey, CART);
  if (replayed?.status === 201) record.orderIds.add((replayed.body as { id: string }).id);

  const secret = order.payment?.clientSecret;
  const intentId = secret?.slice(0, secret.indexOf('_secret_'));
  switch (record.action) {
    case 'leave':
      return record;
    case 'cancel':
      await write('cancel', `/api/v1/orders/${order.id}/cancel`, randomUUID());
      return record;
    case 'decline':
      if (intentId) await confirm(stripe, intentId, 'pm_card_visa_chargeDeclined');
      return record;
    case 'pay':
      if (!intentId || !(await confirm(stripe, intentId, 'pm_card_visa'))) return record;
  }
  if (Math.random() < 0.4) return record;
  // Refunds once orders knows of the payment: a refund of an order not yet paid is a 409.
  await waitUntilPaid(storefront, auth, order.id);
  const refund = async (amount: number) => {
    const key = randomUUID();
    const final: Final | null = await write('refund', `/api/v1/orders/${order.id}/refunds`, key, {
      amount,
    });
    if (final?.status === 201) {
      const { refund: made } = final.body as { refund: { id: string; amount: number } };
      record.refunds.push({ key, amount: made.amount, id: made.id });
    }
  };
  await refund(700);
  // Two at once, together more than what is left: one of them must be refused.
  await Promise.all([refund(1000), refund(1000)]);
  return record;
}

/** Confirms the PaymentIntent as Stripe.js would in the browser; false when the card failed. */
async function confirm(stripe: Stripe, intentId: string, paymentMethod: string): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const intent = await stripe.paymentIntents.confirm(intentId, {
        payment_method: paymentMethod,
      });
      return intent.status === 'succeeded';
    } catch (error) {
      if ((error as { type?: string }).type === 'StripeCardError') return false;
    }
  }
  return false;
}

async function waitUntilPaid(
  storefront: Storefront,
  auth: Record<string, string>,
  orderId: string,
): Promise<void> {
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    const read = await storefront.send('read', 'GET', `/api/v1/orders/${orderId}`, auth);
    if ((read?.body as { status?: string } | undefined)?.status === 'paid') return;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

export const ORDER_AMOUNT = AMOUNT;
