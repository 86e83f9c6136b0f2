// The benchmark scenarios, one function each. Every one is a single bounded load phase.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import Stripe from 'stripe';
import { signatureHeader, webhookPayload } from '../../tools/stripe-stand-in/webhooks.js';
import { runLoad, type PhaseResult } from './load.js';
import type { Stack } from './stack.js';

const ORDERS_PATH = '/api/v1/orders';

/** Something serving `POST /api/v1/orders`: one of our stacks or the reference. */
export interface Target {
  label: string;
  origin: string;
  pids: Record<string, number>;
  /** Resolves once the work the last phase set off in the background is done (webhooks). */
  settled?: () => Promise<void>;
}

export function stackTarget(stack: Stack, label: string): Target {
  return {
    label,
    origin: stack.ordersUrl,
    pids: { orders: stack.processes.orders.pid!, payments: stack.processes.payments.pid! },
    // Each checkout makes the stand-in send payment_intent.created to payments.
    settled: () => stack.stripe.webhooksIdle(),
  };
}

/** A checkout as the storefront sent it, and what it created. */
export interface Checkout {
  key: string;
  body: string;
  orderId: string;
  /** The Stripe PaymentIntent behind the order's payment. */
  intentId: string;
}

export interface Phase {
  durationMs: number;
  token: string;
}

let cart = 0;
/** Carts vary a little, as a storefront's do: different lines, quantities, totals. */
function nextCart(): string {
  const n = cart++;
  return JSON.stringify({
    currency: 'usd',
    items: [
      { sku: `SKU-${n % 97}`, name: 'T-shirt', quantity: 1 + (n % 3), unitAmount: 1500 },
      ...(n % 2 ? [{ sku: 'SKU-MUG', name: 'Mug', quantity: 1, unitAmount: 900 }] : []),
    ],
  });
}

function json(token: string, key?: string): Record<string, string> {
  return {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    ...(key && { 'idempotency-key': key }),
  };
}

/** `POST /api/v1/orders`, each with a fresh Idempotency-Key; `record` keeps what was created. */
export function checkout(
  target: Target,
  connections: number,
  phase: Phase,
  record?: Checkout[],
): Promise<PhaseResult> {
  return runLoad({
    label: `${target.label} checkout c=${connections}`,
    origin: target.origin,
    connections,
    durationMs: phase.durationMs,
    pids: target.pids,
    next(context) {
      context.key = randomUUID();
      context.body = nextCart();
      return {
        method: 'POST',
        path: ORDERS_PATH,
        headers: json(phase.token, context.key as string),
        body: context.body as string,
      };
    },
    accept(status, body, _headers, context) {
      if (status !== 201) return false;
      if (record) {
        const order = JSON.parse(body) as { id: string; payment: { clientSecret: string } };
        const secret = order.payment.clientSecret;
        record.push({
          key: context.key as string,
          body: context.body as string,
          orderId: order.id,
          intentId: secret.slice(0, secret.indexOf('_secret_')),
        });
      }
      return true;
    },
  });
}

/** The recorded checkouts again, same keys and bodies: each must be a stored 201 replayed. */
export function replay(target: Target, checkouts: Checkout[], phase: Phase): Promise<PhaseResult> {
  let next = 0;
  return runLoad({
    label: `${target.label} replay c=32`,
    origin: target.origin,
    connections: 32,
    durationMs: phase.durationMs,
    pids: target.pids,
    next() {
      const recorded = checkouts[next++ % checkouts.length];
      return {
        method: 'POST',
        path: ORDERS_PATH,
        headers: json(phase.token, recorded.key),
        body: recorded.body,
      };
    },
    accept: (status, _body, headers) => status === 201 && headers['idempotent-replayed'] === 'true',
  });
}

/** `GET /api/v1/orders/:id` over the created orders. */
export function read(target: Target, checkouts: Checkout[], phase: Phase): Promise<PhaseResult> {
  let next = 0;
  return runLoad({
    label: `${target.label} read c=32`,
    origin: target.origin,
    connections: 32,
    durationMs: phase.durationMs,
    pids: target.pids,
    next: () => ({
      method: 'GET',
      path: `${ORDERS_PATH}/${checkouts[next++ % checkouts.length].orderId}`,
      headers: { authorization: `Bearer ${phase.token}` },
    }),
    accept: (status) => status === 200,
  });
}

/** A `payment_intent.succeeded` event Stripe really emitted, and the order it concerns. */
export interface PaymentEvent {
  orderId: string;
  payload: string;
}

/**
 * Pays the checkouts' PaymentIntents at the stand-in (so that every event is true: asking Stripe
 * afterwards agrees) and returns the `payment_intent.succeeded` events it emitted. The stand-in
 * would deliver them one at a time itself; the webhook scenario delivers them at c=32 instead.
 */
export async function payIntents(stack: Stack, checkouts: Checkout[]): Promise<PaymentEvent[]> {
  await stack.stripe.webhooksIdle();
  stack.stripe.pauseWebhooks();
  const url = new URL(stack.stripe.url);
  const stripe = new Stripe('sk_test_bench', {
    host: url.hostname,
    port: Number(url.port),
    protocol: 'http',
  });
  const queue = [...checkouts];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let c = queue.pop(); c; c = queue.pop()) {
        await stripe.paymentIntents.confirm(c.intentId, { payment_method: 'pm_card_visa' });
      }
    }),
  );
  const orderOf = new Map(checkouts.map((c) => [c.intentId, c.orderId]));
  const events: PaymentEvent[] = [];
  for (const event of stack.stripe.events()) {
    if (event.type !== 'payment_intent.succeeded') continue;
    const orderId = orderOf.get(event.data.object.id);
    if (orderId) events.push({ orderId, payload: webhookPayload(event) });
  }
  return events;
}

export interface WebhookResult extends PhaseResult {
  /** From the last accepted event until every affected order reads `paid` in orders. */
  paidAfterMs: number | null;
  /** Orders still not `paid` when the wait gave up. */
  unpaid: number;
}

const PAID_WAIT_LIMIT_MS = 30_000;

/**
 * Signed events into payments' `POST /webhooks/stripe` at c=32, then the wait for the outbox to
 * bring every affected order to `paid` (read from orders' database, so the poll loads no service).
 */
export async function webhooks(
  stack: Stack,
  events: PaymentEvent[],
  phase: Phase,
): Promise<WebhookResult> {
  let next = 0;
  const accepted: string[] = [];
  let lastAcceptedAt = 0;
  const result = await runLoad({
    label: `${stack.label} webhooks c=32`,
    origin: stack.paymentsUrl,
    // autocannon refuses more connections than requests.
    connections: Math.min(32, events.length),
    durationMs: phase.durationMs,
    amount: events.length,
    pids: {
      orders: stack.processes.orders.pid!,
      payments: stack.processes.payments.pid!,
    },
    next(context) {
      const event = events[next++ % events.length];
      context.orderId = event.orderId;
      return {
        method: 'POST',
        path: '/webhooks/stripe',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          // Signed at sending time, as Stripe does; the timestamp is within the tolerance.
          'stripe-signature': signatureHeader(event.payload, stack.webhookSecret),
        },
        body: event.payload,
      };
    },
    accept(status, body, _headers, context) {
      if (status !== 200 || !body.includes('"processed"')) return false;
      accepted.push(context.orderId as string);
      lastAcceptedAt = performance.now();
      return true;
    },
  });
  const db = new pg.Client({ connectionString: stack.ordersDatabaseUrl });
  await db.connect();
  try {
    let unpaid = accepted.length;
    while (performance.now() - lastAcceptedAt < PAID_WAIT_LIMIT_MS) {
      const { rows } = await db.query<{ unpaid: number }>(
        `SELECT count(*)::int AS unpaid FROM orders WHERE id = ANY($1::uuid[]) AND status <> 'paid'`,
        [accepted],
      );
      unpaid = rows[0].unpaid;
      if (unpaid === 0) break;
      await sleep(10);
    }
    const paidAfterMs = unpaid === 0 ? performance.now() - lastAcceptedAt : null;
    process.stderr.write(
      paidAfterMs === null
        ? `  ${unpaid} of ${accepted.length} orders still not paid after ${PAID_WAIT_LIMIT_MS} ms\n`
        : `  all ${accepted.length} orders paid ${paidAfterMs.toFixed(0)} ms after the last event\n`,
    );
    return { ...result, paidAfterMs, unpaid };
  } finally {
    await db.end();
  }
}

/** Stops payments and sends checkouts until orders reports its circuit open. */
export async function openCircuit(stack: Stack, token: string): Promise<void> {
  await stack.stopPayments();
  for (let attempt = 0; attempt < 30; attempt++) {
    const health = (await (await fetch(`${stack.ordersUrl}/health/ready`)).json()) as {
      details?: { payments?: { circuit?: string } };
    };
    if (health.details?.payments?.circuit === 'open') return;
    await (
      await fetch(`${stack.ordersUrl}${ORDERS_PATH}`, {
        method: 'POST',
        headers: json(token, randomUUID()),
        body: nextCart(),
      })
    ).text();
  }
  throw new Error('the circuit did not open');
}

/** Checkouts while payments is down and the circuit open: a fast 503 with Retry-After. */
export function circuitOpen(target: Target, phase: Phase): Promise<PhaseResult> {
  return runLoad({
    label: `${target.label} circuit open c=1`,
    origin: target.origin,
    connections: 1,
    durationMs: phase.durationMs,
    pids: { orders: target.pids.orders },
    next: () => ({
      method: 'POST',
      path: ORDERS_PATH,
      headers: json(phase.token, randomUUID()),
      body: nextCart(),
    }),
    accept: (status, _body, headers) => status === 503 && headers['retry-after'] !== undefined,
  });
}
