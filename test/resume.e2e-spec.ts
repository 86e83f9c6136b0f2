import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pg from 'pg';
import Stripe from 'stripe';
import { STAND_IN_STRIPE_KEY } from '#common/config/defaults.js';
import { freePort } from '#testing/ports.js';
import { PaymentReconciliation } from '../apps/orders/src/orders/payment-updates/payment-reconciliation.js';
import type { FaultPoint } from '../apps/payments/src/fault-injection/faults.js';
import { expectProblem, type OrderBody, postOrder } from './support/http.js';
import { Stack, startTestOrders, tokenFor } from './support/stack.js';
import { waitFor } from './support/wait.js';

interface RefundBody {
  refund: { id: string; amount: number; status: string };
  order: OrderBody & { amountRefunded: number };
}

const AMOUNT = 2 * 1500 + 899; // support/http.ts's cart

/**
 * Requests cut off after payments acted (payments' answer lost on every attempt, as if orders
 * had died there), and what happens next: the retried key answers what the first attempt did,
 * and an interrupted checkout moves on without its client. Real services, the Stripe stand-in.
 */
describe('resuming interrupted requests (end to end)', () => {
  let stack: Stack;
  let second: NestFastifyApplication;
  let stripe: Stripe;
  let ordersDb: pg.Pool;
  let paymentsDb: pg.Pool;
  let customer: string;
  let token: string;

  beforeAll(async () => {
    const env = { RECONCILE_PENDING_AFTER_MS: '60000', RECONCILE_INTERVAL_MS: '3600000' };
    stack = await Stack.start({ webhooks: true, orders: env });
    const [httpPort, grpcPort] = await Promise.all([freePort(), freePort()]);
    // A second orders instance on the same database, for reconciliation running on both.
    second = await startTestOrders({
      httpPort,
      grpcPort,
      databaseUrl: stack.ordersDb.url,
      paymentsUrl: stack.paymentsGrpcUrl,
      env,
    });
    stripe = new Stripe(STAND_IN_STRIPE_KEY, {
      host: '127.0.0.1',
      port: stack.stripe.port,
      protocol: 'http',
      maxNetworkRetries: 0,
    });
    ordersDb = new pg.Pool({ connectionString: stack.ordersDb.url, max: 2 });
    paymentsDb = new pg.Pool({ connectionString: stack.paymentsDb.url, max: 2 });
    customer = `cus_${randomUUID()}`;
    token = await tokenFor(customer);
  });

  afterAll(async () => {
    await ordersDb.end();
    await paymentsDb.end();
    await second.close();
    await stack.stop();
  });

  /** Every answer payments gives at `point` is lost until `run` is over. */
  async function losingAnswers<T>(point: FaultPoint, run: () => Promise<T>): Promise<T> {
    stack.paymentFaults.arm(point, 1000);
    try {
      return await run();
    } finally {
      stack.paymentFaults.arm(point, 0);
    }
  }

  function post(path: string, body: unknown, key: string): Promise<Response> {
    return fetch(`${stack.ordersUrl}/api/v1/orders${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify(body),
    });
  }

  async function eventuallyStatus(id: string, status: string): Promise<void> {
    await waitFor(`order ${id} to be ${status}`, async () => {
      const { rows } = await ordersDb.query<{ status: string }>(
        'SELECT status FROM orders WHERE id = $1',
        [id],
      );
      return rows[0]?.status === status || undefined;
    });
  }

  const intentsOf = (orderId: string) =>
    stack.stripe.paymentIntents().filter((intent) => intent.metadata.order_id === orderId);

  async function storedStatus(key: string): Promise<number | null> {
    const { rows } = await ordersDb.query<{ response_status: number | null }>(
      'SELECT response_status FROM idempotency_keys WHERE customer_id = $1 AND key = $2',
      [customer, key],
    );
    return rows[0]?.response_status ?? null;
  }

  /** A checkout whose payment (and PaymentIntent) payments created but orders never attached. */
  async function interruptedCheckout(): Promise<string> {
    const key = randomUUID();
    await losingAnswers('after-stripe-create-intent', async () =>
      expectProblem(await postOrder(stack.ordersUrl, token, { key }), 503, '/problems/unavailable'),
    );
    const { rows } = await ordersDb.query<{ id: string; status: string; payment_id: null }>(
      `SELECT o.id, o.status, o.payment_id FROM orders o
         JOIN idempotency_keys k ON k.order_id = o.id
        WHERE k.customer_id = $1 AND k.key = $2`,
      [customer, key],
    );
    expect(rows).toEqual([{ id: expect.any(String), status: 'pending_payment', payment_id: null }]);
    expect(intentsOf(rows[0].id)).toHaveLength(1);
    return rows[0].id;
  }

  it('answers a retried refund with the refund its cut-off attempt made: 201, one refund', async () => {
    const created = await postOrder(stack.ordersUrl, token);
    const order = (await created.json()) as OrderBody;
    const intent = order.payment!.clientSecret!.split('_secret_')[0];
    await stripe.paymentIntents.confirm(intent, { payment_method: 'pm_card_visa' });
    await eventuallyStatus(order.id, 'paid');

    const key = randomUUID();
    await losingAnswers('after-refund', async () =>
      expectProblem(await post(`/${order.id}/refunds`, {}, key), 503, '/problems/unavailable'),
    );
    // payments refunded and told orders; only the client never heard.
    await eventuallyStatus(order.id, 'refunded');

    const retried = await post(`/${order.id}/refunds`, {}, key);
    expect(retried.status).toBe(201);
    const body = (await retried.json()) as RefundBody;
    const { rows: refunds } = await paymentsDb.query<{ id: string }>(
      'SELECT r.id FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE p.order_id = $1',
      [order.id],
    );
    expect(refunds).toEqual([{ id: body.refund.id }]);
    expect(body.refund).toMatchObject({ amount: AMOUNT, status: 'succeeded' });
    expect(body.order).toMatchObject({ status: 'refunded', amountRefunded: AMOUNT });
    expect(stack.stripe.refunds().filter((r) => r.payment_intent === intent)).toHaveLength(1);
    expect(await storedStatus(key)).toBe(201);

    // A new request for more is refused as before: payments made nothing under its key.
    await expectProblem(
      await post(`/${order.id}/refunds`, {}, randomUUID()),
      409,
      '/problems/conflict',
    );
    expect(stack.stripe.refunds().filter((r) => r.payment_intent === intent)).toHaveLength(1);
  });

  it('answers a retried cancel with the order its cut-off attempt canceled', async () => {
    const created = await postOrder(stack.ordersUrl, token);
    const order = (await created.json()) as OrderBody;
    const key = randomUUID();
    await losingAnswers('after-cancel', async () =>
      expectProblem(await post(`/${order.id}/cancel`, {}, key), 503, '/problems/unavailable'),
    );
    expect(intentsOf(order.id).map((intent) => intent.status)).toEqual(['canceled']);

    const retried = await post(`/${order.id}/cancel`, {}, key);
    expect(retried.status).toBe(200);
    expect(await retried.json()).toMatchObject({
      id: order.id,
      status: 'canceled',
      payment: { id: order.payment!.id, status: 'canceled' },
    });
    expect(await storedStatus(key)).toBe(200);
  });

  it('attaches the payment of a checkout cut off before orders heard, without a retry', async () => {
    const orderIds = [await interruptedCheckout(), await interruptedCheckout()];
    const reconcile = (app: NestFastifyApplication) =>
      app.get(PaymentReconciliation).reconcileOnce();

    // Not yet: the client may still be retrying.
    expect(await reconcile(stack.orders)).toBe(0);
    await ordersDb.query(
      "UPDATE orders SET created_at = now() - interval '1 hour' WHERE id = ANY($1::uuid[])",
      [orderIds],
    );
    // Both instances at once: each order is claimed by one of them.
    const counts = await Promise.all([reconcile(stack.orders), reconcile(second)]);
    expect(counts[0] + counts[1]).toBe(orderIds.length);

    for (const orderId of orderIds) {
      const [intent] = intentsOf(orderId);
      expect(intentsOf(orderId)).toHaveLength(1);
      const { rows } = await ordersDb.query<{ status: string; payment_client_secret: string }>(
        'SELECT status, payment_client_secret FROM orders WHERE id = $1',
        [orderId],
      );
      expect(rows).toEqual([
        { status: 'awaiting_payment', payment_client_secret: intent.client_secret },
      ]);
      const { rows: history } = await ordersDb.query<{ to_status: string; source: string }>(
        'SELECT to_status, source FROM order_status_history WHERE order_id = $1',
        [orderId],
      );
      expect(history).toEqual([{ to_status: 'awaiting_payment', source: 'reconciliation' }]);
    }
    expect(await Promise.all([reconcile(stack.orders), reconcile(second)])).toEqual([0, 0]);
  });

  it('cancels the PaymentIntent of a pending_payment order whose checkout was cut off', async () => {
    const orderId = await interruptedCheckout();
    const response = await post(`/${orderId}/cancel`, {}, randomUUID());
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      id: orderId,
      status: 'canceled',
      payment: { status: 'canceled' },
    });
    expect(intentsOf(orderId).map((intent) => intent.status)).toEqual(['canceled']);
  });
});
