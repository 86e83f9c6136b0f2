import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import Stripe from 'stripe';
import { STAND_IN_STRIPE_KEY } from '#common/config/defaults.js';
import { PaymentReconciliation } from '../apps/orders/src/orders/payment-updates/payment-reconciliation.js';
import { expectProblem, type OrderBody, postOrder } from './support/http.js';
import { Stack, tokenFor } from './support/stack.js';
import { waitFor } from './support/wait.js';

interface Order extends OrderBody {
  amountRefunded: number;
}

const AMOUNT = 2 * 1500 + 899; // support/http.ts's cart

/**
 * The whole lifecycle on real components: the storefront over REST, orders and payments over
 * gRPC, the customer paying through the Stripe stand-in, its signed webhooks into payments, and
 * the outbox relay back to orders.
 */
describe('payment lifecycle (end to end)', () => {
  let stack: Stack;
  let stripe: Stripe;
  let ordersDb: pg.Pool;
  let paymentsDb: pg.Pool;
  let token: string;

  beforeAll(async () => {
    stack = await Stack.start({
      webhooks: true,
      orders: { RECONCILE_AFTER_MS: '1', RECONCILE_INTERVAL_MS: '3600000' },
    });
    stripe = new Stripe(STAND_IN_STRIPE_KEY, {
      host: '127.0.0.1',
      port: stack.stripe.port,
      protocol: 'http',
      maxNetworkRetries: 0,
    });
    ordersDb = new pg.Pool({ connectionString: stack.ordersDb.url, max: 3 });
    paymentsDb = new pg.Pool({ connectionString: stack.paymentsDb.url, max: 2 });
    token = await tokenFor('cus_lifecycle');
  });

  afterAll(async () => {
    await ordersDb.end();
    await paymentsDb.end();
    await stack.stop();
  });

  async function createOrder(customerToken = token): Promise<Order> {
    const response = await postOrder(stack.ordersUrl, customerToken);
    expect(response.status).toBe(201);
    return (await response.json()) as Order;
  }

  const intentOf = (order: Order) => order.payment!.clientSecret!.split('_secret_')[0];

  async function getOrder(id: string, customerToken = token): Promise<Order> {
    const response = await fetch(`${stack.ordersUrl}/api/v1/orders/${id}`, {
      headers: { authorization: `Bearer ${customerToken}` },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Order;
  }

  function eventuallyStatus(id: string, status: string, timeoutMs = 10_000): Promise<Order> {
    return waitFor(
      `order ${id} to be ${status}`,
      async () => {
        const order = await getOrder(id);
        return order.status === status ? order : undefined;
      },
      { timeoutMs },
    );
  }

  function post(path: string, body: unknown, key = randomUUID()): Promise<Response> {
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

  async function transitions(orderId: string): Promise<string[]> {
    const { rows } = await ordersDb.query<{ from_status: string; to_status: string }>(
      'SELECT from_status, to_status FROM order_status_history WHERE order_id = $1 ORDER BY created_at, id',
      [orderId],
    );
    return rows.map((r) => `${r.from_status}->${r.to_status}`);
  }

  async function paidOrder(): Promise<Order> {
    const order = await createOrder();
    await stripe.paymentIntents.confirm(intentOf(order), { payment_method: 'pm_card_visa' });
    return eventuallyStatus(order.id, 'paid');
  }

  it('turns the order paid when the customer pays', async () => {
    const order = await createOrder();
    await stripe.paymentIntents.confirm(intentOf(order), { payment_method: 'pm_card_visa' });
    await eventuallyStatus(order.id, 'paid');
    expect(await transitions(order.id)).toContain('awaiting_payment->paid');
  });

  it('goes payment_failed on a decline and paid when the customer retries', async () => {
    const order = await createOrder();
    await expect(
      stripe.paymentIntents.confirm(intentOf(order), {
        payment_method: 'pm_card_visa_chargeDeclined',
      }),
    ).rejects.toBeInstanceOf(Stripe.errors.StripeCardError);
    await eventuallyStatus(order.id, 'payment_failed');
    await stripe.paymentIntents.confirm(intentOf(order), { payment_method: 'pm_card_visa' });
    await eventuallyStatus(order.id, 'paid');
  });

  it('marks a disputed charge', async () => {
    const order = await createOrder();
    await stripe.paymentIntents.confirm(intentOf(order), {
      payment_method: 'pm_card_createDispute',
    });
    await eventuallyStatus(order.id, 'disputed');
  });

  it('loses no notification while orders is down, and applies none twice', async () => {
    const orders = await Promise.all(Array.from({ length: 100 }, () => createOrder()));
    const eventsBefore = stack.stripe.events().length;
    await stack.stopOrders();
    try {
      await Promise.all(
        orders.map((order) =>
          stripe.paymentIntents.confirm(intentOf(order), { payment_method: 'pm_card_visa' }),
        ),
      );
      await stack.stripe.webhooksIdle();
      expect(stack.stripe.events().length - eventsBefore).toBeGreaterThanOrEqual(200);
    } finally {
      await stack.startOrders();
    }
    for (const order of orders) await eventuallyStatus(order.id, 'paid', 20_000);
    const { rows } = await ordersDb.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM order_status_history
        WHERE order_id = ANY($1) AND to_status = 'paid'`,
      [orders.map((o) => o.id)],
    );
    expect(rows[0].n).toBe(orders.length);
  });

  it('reconciles an order whose webhook never came', async () => {
    const order = await createOrder();
    stack.stripe.pauseWebhooks();
    try {
      await stripe.paymentIntents.confirm(intentOf(order), { payment_method: 'pm_card_visa' });
      // A fixed wait: nothing moves the order while webhooks are paused, and nothing can signal that.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await getOrder(order.id)).status).toBe('awaiting_payment');
      expect(await stack.orders.get(PaymentReconciliation).reconcileOnce()).toBeGreaterThanOrEqual(
        1,
      );
      // Webhooks are still paused: only the reconciliation's refresh from Stripe can have done
      // this (its answer, or the notification payments queued for the same change).
      await eventuallyStatus(order.id, 'paid');
      const { rows } = await ordersDb.query<{ source: string }>(
        "SELECT source FROM order_status_history WHERE order_id = $1 AND to_status = 'paid'",
        [order.id],
      );
      expect(rows).toHaveLength(1);
      expect(['reconciliation', 'payment_update']).toContain(rows[0].source);
      // The refresh read the PaymentIntent with its charge expanded, as Stripe answers
      // `expand[]=latest_charge`: the receipt comes from the Charge object, not a second call.
      const charge = stack.stripe.charges().find((c) => c.payment_intent === intentOf(order));
      expect(charge?.receipt_url).toMatch(/^https:\/\/pay\.stripe\.com\/receipts\//);
      const payment = await paymentsDb.query<{ latest_charge_id: string; receipt_url: string }>(
        'SELECT latest_charge_id, receipt_url FROM payments WHERE id = $1',
        [order.payment!.id],
      );
      expect(payment.rows[0]).toEqual({
        latest_charge_id: charge!.id,
        receipt_url: charge!.receipt_url,
      });
    } finally {
      stack.stripe.resumeWebhooks();
    }
  });

  describe('refunds', () => {
    it('refunds all of an order', async () => {
      const order = await paidOrder();
      const response = await post(`/${order.id}/refunds`, {});
      expect(response.status).toBe(201);
      const { refund } = (await response.json()) as { refund: { amount: number; status: string } };
      expect(refund).toMatchObject({ amount: AMOUNT, status: 'succeeded' });
      const refunded = await eventuallyStatus(order.id, 'refunded');
      expect(refunded.amountRefunded).toBe(AMOUNT);
      const intent = intentOf(order);
      expect(stack.stripe.refunds().filter((r) => r.payment_intent === intent)).toHaveLength(1);
    });

    it('refunds in parts, and refuses more than was paid without calling Stripe', async () => {
      const order = await paidOrder();
      expect((await post(`/${order.id}/refunds`, { amount: 1000 })).status).toBe(201);
      await eventuallyStatus(order.id, 'partially_refunded');
      expect((await post(`/${order.id}/refunds`, { amount: 2000 })).status).toBe(201);
      const stripeRequests = stack.stripe.requestCount();
      await expectProblem(
        await post(`/${order.id}/refunds`, { amount: AMOUNT - 3000 + 1 }),
        422,
        '/problems/precondition-failed',
      );
      expect(stack.stripe.requestCount()).toBe(stripeRequests);
      expect((await post(`/${order.id}/refunds`, { amount: AMOUNT - 3000 })).status).toBe(201);
      const refunded = await eventuallyStatus(order.id, 'refunded');
      expect(refunded.amountRefunded).toBe(AMOUNT);
    });

    it('never lets two concurrent refunds exceed the amount paid', async () => {
      const order = await paidOrder();
      const share = AMOUNT - 1000;
      const answers = await Promise.all([
        post(`/${order.id}/refunds`, { amount: share }),
        post(`/${order.id}/refunds`, { amount: share }),
      ]);
      expect(answers.map((r) => r.status).sort()).toEqual([201, 422]);
      const intent = intentOf(order);
      const refunds = stack.stripe.refunds().filter((r) => r.payment_intent === intent);
      expect(refunds.map((r) => r.amount)).toEqual([share]);
    });

    it('answers a repeated refund request with the first refund', async () => {
      const order = await paidOrder();
      const key = randomUUID();
      const first = await post(`/${order.id}/refunds`, { amount: 500 }, key);
      const again = await post(`/${order.id}/refunds`, { amount: 500 }, key);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(await again.text()).toBe(await first.text());
      const intent = intentOf(order);
      expect(stack.stripe.refunds().filter((r) => r.payment_intent === intent)).toHaveLength(1);
    });
  });

  describe('cancel', () => {
    it('cancels an unpaid order and its PaymentIntent', async () => {
      const order = await createOrder();
      const response = await post(`/${order.id}/cancel`, {});
      expect(response.status).toBe(200);
      expect(((await response.json()) as Order).status).toBe('canceled');
      const intent = stack.stripe.paymentIntents().find((pi) => pi.id === intentOf(order));
      expect(intent?.status).toBe('canceled');
    });

    it('refuses to cancel a paid order: it needs a refund', async () => {
      const order = await paidOrder();
      const problem = await expectProblem(
        await post(`/${order.id}/cancel`, {}),
        409,
        '/problems/conflict',
      );
      expect(problem.detail).toMatch(/refund/i);
      expect((await getOrder(order.id)).status).toBe('paid');
    });
  });
});
