import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pg from 'pg';
import { PaymentStatus } from '#contracts/generated/payments/v1/payments.js';
import { createTestDatabase, type TestDatabase } from '#testing/database.js';
import { freePort } from '#testing/ports.js';
import { PaymentReconciliation } from '../apps/orders/src/orders/payment-updates/payment-reconciliation.js';
import { FakePayments } from './support/fake-payments.js';
import { expectProblem, type OrderBody, postOrder } from './support/http.js';
import { startTestOrders, tokenFor } from './support/stack.js';

const RECONCILE_AFTER_MS = 1000;

describe('reconciliation of unpaid orders with payments (two orders instances)', () => {
  let fake: FakePayments;
  let db: TestDatabase;
  let apps: NestFastifyApplication[];
  let url: string;
  let pool: pg.Pool;
  let token: string;

  beforeAll(async () => {
    [fake, db] = await Promise.all([FakePayments.start(), createTestDatabase('orders')]);
    const ports = await Promise.all(Array.from({ length: 4 }, () => freePort()));
    // Both instances share one database, as in production; INTERNAL_API_KEY is left unset.
    const env = {
      RECONCILE_AFTER_MS: String(RECONCILE_AFTER_MS),
      // The rounds are driven by the tests, not by the timer.
      RECONCILE_INTERVAL_MS: String(3_600_000),
      RECONCILE_BATCH_SIZE: '4',
    };
    apps = [];
    for (const [httpPort, grpcPort] of [ports.slice(0, 2), ports.slice(2)]) {
      apps.push(
        await startTestOrders({
          httpPort,
          grpcPort,
          databaseUrl: db.url,
          paymentsUrl: fake.url,
          env,
        }),
      );
    }
    url = `http://127.0.0.1:${ports[0]}`;
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    token = await tokenFor(`cus_${randomUUID()}`);
  });

  afterAll(async () => {
    await pool.end();
    for (const app of apps) await app.close();
    await fake.stop();
    await db.drop();
  });

  const reconcile = (instance = 0) => apps[instance].get(PaymentReconciliation).reconcileOnce();

  async function checkout(): Promise<OrderBody> {
    const response = await postOrder(url, token);
    expect(response.status).toBe(201);
    return (await response.json()) as OrderBody;
  }

  /** As if the order had been quiet for an hour. */
  async function ageOrders(...orders: OrderBody[]): Promise<void> {
    await pool.query(
      "UPDATE orders SET updated_at = now() - interval '1 hour' WHERE id = ANY($1::uuid[])",
      [orders.map((order) => order.id)],
    );
  }

  async function statusOf(order: OrderBody): Promise<string> {
    const { rows } = await pool.query<{ status: string }>(
      'SELECT status FROM orders WHERE id = $1',
      [order.id],
    );
    return rows[0].status;
  }

  const lookups = (order: OrderBody) =>
    fake.callsTo('GetPayment').filter((call) => call.request.paymentId === order.payment!.id);

  it('brings an order awaiting payment up to date with what payments knows', async () => {
    const order = await checkout();
    fake.change(order.payment!.id, { status: PaymentStatus.PAYMENT_STATUS_SUCCEEDED });
    await ageOrders(order);

    expect(await reconcile()).toBeGreaterThanOrEqual(1);
    expect(await statusOf(order)).toBe('paid');
    expect(lookups(order)).toEqual([
      expect.objectContaining({ request: { paymentId: order.payment!.id, refresh: true } }),
    ]);
    const { rows } = await pool.query<{ to_status: string; source: string }>(
      "SELECT to_status, source FROM order_status_history WHERE order_id = $1 AND to_status = 'paid'",
      [order.id],
    );
    expect(rows).toEqual([{ to_status: 'paid', source: 'reconciliation' }]);
  });

  it('leaves recent orders alone, and does not check an unchanged order again right away', async () => {
    const recent = await checkout();
    const quiet = await checkout();
    await ageOrders(quiet);

    await reconcile();
    expect(lookups(recent)).toHaveLength(0);
    expect(lookups(quiet)).toHaveLength(1);
    expect(await statusOf(quiet)).toBe('awaiting_payment');

    await Promise.all([reconcile(0), reconcile(1)]);
    expect(lookups(quiet)).toHaveLength(1);
  });

  it('shares the work between instances: every order is checked once', async () => {
    const batch = [];
    for (let i = 0; i < 10; i++) batch.push(await checkout());
    for (const order of batch) {
      fake.change(order.payment!.id, { status: PaymentStatus.PAYMENT_STATUS_SUCCEEDED });
    }
    await ageOrders(...batch);

    let checked = 0;
    for (let round = 0; round < 5; round++) {
      const counts = await Promise.all([reconcile(0), reconcile(1)]);
      checked += counts[0] + counts[1];
    }
    expect(checked).toBeGreaterThanOrEqual(batch.length);
    expect(batch.map((order) => lookups(order).length)).toEqual(Array(batch.length).fill(1));
    expect(await Promise.all(batch.map(statusOf))).toEqual(Array(batch.length).fill('paid'));
  });

  it('leaves the orders for the next round while payments is unavailable', async () => {
    const order = await checkout();
    await ageOrders(order);
    const before = fake.callsTo('GetPayment').length;
    fake.fail('GetPayment', status.UNAVAILABLE);
    try {
      expect(await reconcile()).toBe(0);
    } finally {
      fake.succeed('GetPayment');
    }
    expect(fake.callsTo('GetPayment').length).toBeGreaterThan(before);
    expect(await statusOf(order)).toBe('awaiting_payment');

    fake.change(order.payment!.id, { status: PaymentStatus.PAYMENT_STATUS_CANCELED });
    await reconcile();
    expect(await statusOf(order)).toBe('canceled');
  });

  it('keeps the payment-updates push closed when INTERNAL_API_KEY is unset', async () => {
    const order = await checkout();
    const response = await fetch(`${url}/api/v1/webhooks/payment-updates`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': 'x'.repeat(32),
        'x-idempotency-key': randomUUID(),
      },
      body: JSON.stringify({
        orderId: order.id,
        paymentId: order.payment!.id,
        paymentStatus: 'succeeded',
        paymentVersion: 9,
      }),
    });
    await expectProblem(response, 401, '/problems/unauthenticated');
    expect(await statusOf(order)).toBe('awaiting_payment');
  });
});
