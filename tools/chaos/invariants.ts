// What must hold once the chaos has settled, read from both databases, the Stripe stand-in and
// what the storefront was answered. Each broken rule is one line naming what broke it.
import pg from 'pg';
import type { Fleet } from '../fleet/fleet.js';
import type { JourneyRecord } from './journeys.js';
import type { Answer } from './storefront.js';

export interface Findings {
  checked: Record<string, number>;
  violations: string[];
}

/** The order states a PaymentIntent's state allows, once everything has been delivered. */
const ORDER_STATES_FOR_INTENT: Record<string, string[]> = {
  succeeded: ['paid', 'partially_refunded', 'refunded'],
  canceled: ['canceled'],
  requires_payment_method: ['awaiting_payment', 'payment_failed'],
};

async function rows<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<T & pg.QueryResultRow>(sql)).rows;
  } finally {
    await client.end();
  }
}

export async function checkInvariants(
  fleet: Fleet,
  journeys: JourneyRecord[],
  answers: Answer[],
  runId: string,
): Promise<Findings> {
  const violations: string[] = [];
  const fail = (rule: string, detail: string) => violations.push(`${rule}: ${detail}`);
  const { ordersUrl, paymentsUrl } = fleet.databases;
  const prefix = `chaos-${runId}-`;

  const orders = await rows<{
    id: string;
    customer_id: string;
    status: string;
    amount: string;
    amount_refunded: string;
    payment_id: string | null;
  }>(
    ordersUrl,
    `SELECT id, customer_id, status, amount, amount_refunded, payment_id FROM orders
      WHERE customer_id LIKE '${prefix}%'`,
  );
  const ordersById = new Map(orders.map((order) => [order.id, order]));

  // No 500, and every 503 says when to come back.
  for (const answer of answers) {
    if (answer.status >= 500 && answer.status !== 503) {
      fail(
        'no 500',
        `${answer.operation} on ${answer.instance}: ${answer.status} ${answer.detail ?? ''}`,
      );
    } else if (answer.status === 503 && !answer.retryAfter) {
      fail('503 with Retry-After', `${answer.operation} on ${answer.instance}`);
    }
  }

  // One order per (customer, key): each journey made one checkout, retried with one key.
  const perCustomer = new Map<string, number>();
  for (const order of orders)
    perCustomer.set(order.customer_id, (perCustomer.get(order.customer_id) ?? 0) + 1);
  for (const [customer, count] of perCustomer) {
    if (count > 1) fail('one order per key', `${customer} has ${count} orders`);
  }
  for (const journey of journeys) {
    if (journey.orderIds.size > 1) {
      fail(
        'one order per key',
        `${journey.customer}'s key answered ${[...journey.orderIds].join(', ')}`,
      );
    }
    for (const id of journey.orderIds) {
      if (!ordersById.has(id)) fail("every 201's order exists", `${journey.customer}: ${id}`);
    }
    for (const operation of journey.unanswered) {
      fail('nothing stuck', `${journey.customer}: ${operation} had no final answer in time`);
    }
  }

  // One payment per order, one PaymentIntent per order.
  const payments = await rows<{
    id: string;
    order_id: string;
    provider_payment_id: string | null;
    amount: string;
    amount_refunded: string;
  }>(
    paymentsUrl,
    `SELECT id, order_id, provider_payment_id, amount, amount_refunded FROM payments
      WHERE customer_id LIKE '${prefix}%'`,
  );
  const paymentsByOrder = new Map<string, typeof payments>();
  for (const payment of payments) {
    paymentsByOrder.set(payment.order_id, [
      ...(paymentsByOrder.get(payment.order_id) ?? []),
      payment,
    ]);
  }
  const intents = fleet.stripe
    .paymentIntents()
    .filter((intent) => ordersById.has(intent.metadata.order_id ?? ''));
  const intentsByOrder = new Map<string, typeof intents>();
  for (const intent of intents) {
    const orderId = intent.metadata.order_id;
    intentsByOrder.set(orderId, [...(intentsByOrder.get(orderId) ?? []), intent]);
  }
  const refundsByIntent = new Map<string, number>();
  for (const refund of fleet.stripe.refunds()) {
    if (refund.status !== 'succeeded' || typeof refund.payment_intent !== 'string') continue;
    refundsByIntent.set(
      refund.payment_intent,
      (refundsByIntent.get(refund.payment_intent) ?? 0) + refund.amount,
    );
  }

  for (const order of orders) {
    const mine = paymentsByOrder.get(order.id) ?? [];
    const theirs = intentsByOrder.get(order.id) ?? [];
    if (mine.length > 1) fail('one payment per order', `${order.id} has ${mine.length}`);
    if (theirs.length > 1) fail('one PaymentIntent per order', `${order.id} has ${theirs.length}`);
    if (order.status === 'pending_payment') {
      fail('nothing stuck', `order ${order.id} is still pending_payment`);
      continue;
    }
    const [payment] = mine;
    const [intent] = theirs;
    if (!payment || !intent) {
      fail(
        'one payment per order',
        `${order.id} (${order.status}) has ${mine.length} payments, ${theirs.length} PaymentIntents`,
      );
      continue;
    }
    if (order.payment_id !== payment.id) fail('order has its payment', `${order.id}`);
    const allowed = ORDER_STATES_FOR_INTENT[intent.status] ?? [];
    if (!allowed.includes(order.status)) {
      fail(
        'order agrees with its PaymentIntent',
        `${order.id} is ${order.status}, ${intent.id} is ${intent.status}`,
      );
    }
    const atStripe = refundsByIntent.get(intent.id) ?? 0;
    const inPayments = Number(payment.amount_refunded);
    const inOrders = Number(order.amount_refunded);
    if (atStripe !== inPayments || inPayments !== inOrders) {
      fail(
        'refunds agree',
        `${order.id}: Stripe ${atStripe}, payments ${inPayments}, orders ${inOrders}`,
      );
    }
    if (atStripe > Number(order.amount)) {
      fail('refunds within the charge', `${order.id}: ${atStripe} refunded of ${order.amount}`);
    }
  }

  // Nothing left behind: undelivered or parked notifications, keys still in flight.
  const [outbox] = await rows<{ pending: string; parked: string }>(
    paymentsUrl,
    `SELECT count(*) FILTER (WHERE parked_at IS NULL) AS pending,
            count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked
       FROM outbox WHERE delivered_at IS NULL`,
  );
  if (Number(outbox.pending) > 0)
    fail('nothing stuck', `${outbox.pending} notifications undelivered`);
  if (Number(outbox.parked) > 0) fail('nothing stuck', `${outbox.parked} notifications parked`);
  const [keys] = await rows<{ in_flight: string }>(
    ordersUrl,
    `SELECT count(*) AS in_flight FROM idempotency_keys
      WHERE state = 'in_flight' AND customer_id LIKE '${prefix}%'`,
  );
  if (Number(keys.in_flight) > 0)
    fail('nothing stuck', `${keys.in_flight} idempotency keys in flight`);

  return {
    checked: {
      journeys: journeys.length,
      orders: orders.length,
      payments: payments.length,
      paymentIntents: intents.length,
      refunded: orders.filter((order) => Number(order.amount_refunded) > 0).length,
      answers: answers.length,
    },
    violations,
  };
}
