import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pg from 'pg';
import { READINESS_REUSE_MS } from '#common/runtime/health.js';
import { createTestDatabase, type TestDatabase } from '#testing/database.js';
import { freePort } from '#testing/ports.js';
import { PaymentsClient } from '../apps/orders/src/payments-client/payments.client.js';
import { FakePayments } from './support/fake-payments.js';
import { eventually, expectProblem, type OrderBody, postOrder } from './support/http.js';
import { Stack, startTestOrders, tokenFor } from './support/stack.js';

const HALF_OPEN_AFTER_MS = 1500;

describe('orders -> payments resilience (end to end)', () => {
  let stack: Stack;
  let orders: pg.Pool;

  beforeAll(async () => {
    stack = await Stack.start({
      orders: { PAYMENTS_BREAKER_HALF_OPEN_AFTER_MS: String(HALF_OPEN_AFTER_MS) },
    });
    orders = new pg.Pool({ connectionString: stack.ordersDb.url, max: 2 });
  });

  afterAll(async () => {
    await orders.end();
    await stack.stop();
  });

  const countOrders = async (customerId: string) =>
    (
      await orders.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM orders WHERE customer_id = $1',
        [customerId],
      )
    ).rows[0].n;

  const circuitDetails = async () => {
    // A probe within READINESS_REUSE_MS of the last check gets its outcome: wait for a fresh one.
    await new Promise((resolve) => setTimeout(resolve, READINESS_REUSE_MS));
    const response = await fetch(`${stack.ordersUrl}/health/ready`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { details: { payments: { circuit: string } } };
    return body.details.payments.circuit;
  };

  it('opens the circuit after 5 failed calls, fails fast, and recovers on its own', async () => {
    const customer = `cus_${randomUUID()}`;
    const token = await tokenFor(customer);
    const client = stack.paymentsClient;
    const paymentCalls = stack.countPaymentCalls();
    const keys = Array.from({ length: 6 }, () => randomUUID());

    await stack.stopPayments();
    try {
      // Calls 1-5: each tries payments (with its retries) and fails with a plain 503.
      for (const key of keys.slice(0, 5)) {
        const sent = paymentCalls();
        const problem = await expectProblem(
          await postOrder(stack.ordersUrl, token, { key }),
          503,
          '/problems/unavailable',
        );
        expect(problem.detail).not.toMatch(/circuit/);
        expect(paymentCalls() - sent).toBe(3);
      }
      expect(client.circuit).toBe('open');
      expect(await circuitDetails()).toBe('open');

      // Call 6: answered at once, no call to payments, nothing written.
      const sent = paymentCalls();
      const before = await countOrders(customer);
      const open = await postOrder(stack.ordersUrl, token, { key: keys[5] });
      const problem = await expectProblem(open, 503, '/problems/unavailable');
      expect(problem.detail).toMatch(/circuit open/);
      const retryAfter = Number(open.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(Math.ceil(HALF_OPEN_AFTER_MS / 1000));
      expect(paymentCalls()).toBe(sent);
      expect(await countOrders(customer)).toBe(before);
    } finally {
      await stack.startPayments();
    }

    // After the half-open delay (a fixed wait: a call before it would be refused by the open
    // circuit, not tried), the trial call goes through and closes the circuit; the first key then
    // completes the order it created, without a duplicate.
    await new Promise((resolve) => setTimeout(resolve, HALF_OPEN_AFTER_MS + 100));
    const retried = await eventually(() => postOrder(stack.ordersUrl, token, { key: keys[0] }));
    expect(retried.status).toBe(201);
    expect(client.circuit).toBe('closed');
    const order = (await retried.json()) as OrderBody;
    expect(order.status).toBe('awaiting_payment');
    const ordersBefore = await countOrders(customer);
    const again = await postOrder(stack.ordersUrl, token, { key: keys[0] });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await countOrders(customer)).toBe(ordersBefore);
    expect(
      stack.stripe.paymentIntents().filter((pi) => pi.metadata.order_id === order.id),
    ).toHaveLength(1);
    expect(await circuitDetails()).toBe('closed');
  });

  it('survives a crash between the Stripe call and the commit: one PaymentIntent', async () => {
    const token = await tokenFor('cus_crash');
    const stripeRequests = stack.stripe.requestCount();
    stack.paymentFaults.arm('after-stripe-create-intent');
    const response = await postOrder(stack.ordersUrl, token);
    // orders' retry resumed the payment; Stripe saw the same idempotency key twice.
    expect(response.status).toBe(201);
    const order = (await response.json()) as OrderBody;
    expect(stack.stripe.requestCount() - stripeRequests).toBe(2);
    const intents = stack.stripe.paymentIntents().filter((pi) => pi.metadata.order_id === order.id);
    expect(intents).toHaveLength(1);
    expect(order.payment?.clientSecret).toBe(intents[0].client_secret);
  });
});

describe('orders -> payments error handling (scripted payments)', () => {
  let fake: FakePayments;
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let url: string;
  let token: string;

  beforeAll(async () => {
    [fake, db] = await Promise.all([FakePayments.start(), createTestDatabase('orders')]);
    const [httpPort, grpcPort] = await Promise.all([freePort(), freePort()]);
    app = await startTestOrders({
      httpPort,
      grpcPort,
      databaseUrl: db.url,
      paymentsUrl: fake.url,
      env: { PAYMENTS_BREAKER_THRESHOLD: '5' },
    });
    url = `http://127.0.0.1:${httpPort}`;
    token = await tokenFor('cus_scripted');
  });

  afterAll(async () => {
    await app.close();
    await fake.stop();
    await db.drop();
  });

  it.each([
    [status.INVALID_ARGUMENT, 422, '/problems/validation-failed'],
    [status.FAILED_PRECONDITION, 422, '/problems/precondition-failed'],
    [status.NOT_FOUND, 404, '/problems/not-found'],
    [status.ALREADY_EXISTS, 409, '/problems/conflict'],
    [status.INTERNAL, 500, '/problems/internal'],
  ])(
    'does not retry gRPC status %i, answers %i, and stores the answer',
    async (code, http, type) => {
      fake.answer = code;
      fake.calls = 0;
      const key = randomUUID();
      const first = await postOrder(url, token, { key });
      await expectProblem(first.clone(), http, type);
      expect(fake.calls).toBe(1);
      const replay = await postOrder(url, token, { key });
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(await replay.text()).toBe(await first.text());
      expect(fake.calls).toBe(1);
    },
  );

  it('does not count business errors towards the circuit', async () => {
    fake.answer = status.FAILED_PRECONDITION;
    for (let i = 0; i < 8; i++) await postOrder(url, token);
    expect(app.get(PaymentsClient).circuit).toBe('closed');
  });

  it.each([[status.UNAVAILABLE], [status.RESOURCE_EXHAUSTED]])(
    'retries transient status %i three times in all, then answers 503',
    async (code) => {
      fake.answer = code;
      fake.calls = 0;
      await expectProblem(await postOrder(url, token), 503, '/problems/unavailable');
      expect(fake.calls).toBe(3);
      fake.answer = status.OK;
    },
  );
});
