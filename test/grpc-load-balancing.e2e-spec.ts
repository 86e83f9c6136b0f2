import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Client, connectivityState, credentials, status } from '@grpc/grpc-js';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Stripe from 'stripe';
import { STAND_IN_STRIPE_KEY } from '#common/config/defaults.js';
import { createTestDatabase, type TestDatabase } from '#testing/database.js';
import { freePort } from '#testing/ports.js';
import { StripeStandIn } from '#stripe-stand-in/server.js';
import { ORDERS_CONFIG, type OrdersConfig } from '../apps/orders/src/config.js';
import { PaymentUpdatesService } from '../apps/orders/src/orders/payment-updates/payment-updates.service.js';
import { PaymentsClient } from '../apps/orders/src/payments-client/payments.client.js';
import { FakePayments } from './support/fake-payments.js';
import { type OrderBody, postOrder } from './support/http.js';
import { ServiceProcess } from './support/service-process.js';
import { Stack, startTestOrders, tokenFor } from './support/stack.js';
import { waitFor } from './support/wait.js';

/** An `ipv4:` target listing the servers. */
const ipv4 = (...servers: FakePayments[]) => `ipv4:${servers.map((s) => s.url).join(',')}`;

describe('orders -> payments with several payments servers (scripted payments)', () => {
  let first: FakePayments;
  let second: FakePayments;
  let db: TestDatabase;
  let orders: NestFastifyApplication | undefined;
  let token: string;

  beforeAll(async () => {
    [first, second, db] = await Promise.all([
      FakePayments.start(),
      FakePayments.start(),
      createTestDatabase('orders'),
    ]);
    token = await tokenFor('cus_load_balancing');
  });

  afterEach(async () => {
    await orders?.close();
    orders = undefined;
    first.answer = second.answer = status.OK;
    first.calls = second.calls = 0;
  });

  afterAll(async () => {
    await Promise.all([first.stop(), second.stop()]);
    await db.drop();
  });

  /** orders reaching payments at `target`; its REST API's base URL. */
  async function startOrders(target: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
    const [httpPort, grpcPort] = await Promise.all([freePort(), freePort()]);
    orders = await startTestOrders({
      httpPort,
      grpcPort,
      databaseUrl: db.url,
      paymentsUrl: target,
      env,
    });
    return `http://127.0.0.1:${httpPort}`;
  }

  /** `count` checkouts one after the other; their HTTP statuses. */
  async function checkouts(url: string, count: number): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < count; i++) statuses.push((await postOrder(url, token)).status);
    return statuses;
  }

  it('sends CreatePayment calls to every address of an ipv4: list (round_robin, the default)', async () => {
    const url = await startOrders(ipv4(first, second));
    expect(await checkouts(url, 20)).toEqual(Array(20).fill(201));
    expect(first.calls + second.calls).toBe(20);
    // Both take a share (the first calls may all go to whichever connected first).
    expect(first.calls).toBeGreaterThanOrEqual(5);
    expect(second.calls).toBeGreaterThanOrEqual(5);
  });

  it('pins one server with GRPC_LB_POLICY=pick_first', async () => {
    const url = await startOrders(ipv4(first, second), { GRPC_LB_POLICY: 'pick_first' });
    expect(await checkouts(url, 10)).toEqual(Array(10).fill(201));
    expect([first.calls, second.calls].sort((a, b) => a - b)).toEqual([0, 10]);
  });

  it('retries on the other server while one answers UNAVAILABLE; the circuit stays closed', async () => {
    const url = await startOrders(ipv4(first, second), { PAYMENTS_BREAKER_THRESHOLD: '2' });
    first.answer = status.UNAVAILABLE;
    expect(await checkouts(url, 10)).toEqual(Array(10).fill(201));
    expect(second.calls).toBe(10);
    // The failing server stayed in the rotation: each of its refusals was retried elsewhere.
    expect(first.calls).toBeGreaterThanOrEqual(3);
    expect(orders!.get(PaymentsClient).circuit).toBe('closed');
  });

  it('takes a dns:/// target', async () => {
    const port = first.url.split(':')[1];
    const url = await startOrders(`dns:///localhost:${port}`);
    expect(await checkouts(url, 2)).toEqual([201, 201]);
    expect(first.calls).toBe(2);
  });
});

describe('killing one of two payments instances mid-load (processes)', () => {
  let stripe: StripeStandIn;
  let paymentsDb: TestDatabase;
  let ordersDb: TestDatabase;
  const instances: ServiceProcess[] = [];
  let orders: NestFastifyApplication;
  let ordersUrl: string;

  beforeAll(async () => {
    [stripe, paymentsDb, ordersDb] = await Promise.all([
      StripeStandIn.start({ port: 0 }),
      createTestDatabase('payments'),
      createTestDatabase('orders'),
    ]);
    const [ordersHttp, ordersGrpc, ...paymentsPorts] = await Promise.all(
      [1, 2, 3, 4, 5, 6].map(() => freePort()),
    );
    // One after the other: instances starting together race on migrations (see libs/common/src/db/migrations.ts).
    for (const [http, grpc] of [paymentsPorts.slice(0, 2), paymentsPorts.slice(2)]) {
      instances.push(
        await ServiceProcess.start(
          'payments',
          {
            NODE_ENV: 'test',
            LOG_LEVEL: 'warn',
            PAYMENTS_HTTP_PORT: String(http),
            PAYMENTS_GRPC_PORT: String(grpc),
            PAYMENTS_DATABASE_URL: paymentsDb.url,
            STRIPE_API_URL: stripe.url,
            STRIPE_MAX_NETWORK_RETRIES: '0',
            ORDERS_GRPC_URL: `127.0.0.1:${ordersGrpc}`,
          },
          `http://127.0.0.1:${http}/health/ready`,
        ),
      );
    }
    orders = await startTestOrders({
      httpPort: ordersHttp,
      grpcPort: ordersGrpc,
      databaseUrl: ordersDb.url,
      paymentsUrl: `ipv4:127.0.0.1:${paymentsPorts[1]},127.0.0.1:${paymentsPorts[3]}`,
    });
    ordersUrl = `http://127.0.0.1:${ordersHttp}`;
  });

  afterAll(async () => {
    await orders?.close();
    await Promise.all(instances.map((instance) => instance.stop()));
    await stripe?.stop();
    await Promise.all([paymentsDb?.drop(), ordersDb?.drop()]);
  });

  it('loses no checkout: 201 or a retryable 503, never 500, and the circuit stays closed', async () => {
    const token = await tokenFor('cus_replica_killed');
    const total = 40;
    const answers: { key: string; status: number; retryAfter: string | null; detail?: string }[] =
      [];
    let next = 0;
    const worker = async () => {
      while (next < total) {
        next++;
        const key = randomUUID();
        const response = await postOrder(ordersUrl, token, { key });
        const body = (await response.json()) as { detail?: string };
        answers.push({
          key,
          status: response.status,
          retryAfter: response.headers.get('retry-after'),
          detail: body.detail,
        });
        // Mid-load, with calls in flight on it.
        if (answers.length === 10) instances[0].signal('SIGKILL');
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    expect((await instances[0].exited).signal).toBe('SIGKILL');

    expect(answers).toHaveLength(total);
    for (const answer of answers) {
      if (answer.status === 201) continue;
      expect(answer).toMatchObject({ status: 503, retryAfter: expect.stringMatching(/^\d+$/) });
      expect(answer.detail).not.toMatch(/circuit/);
    }
    expect(orders.get(PaymentsClient).circuit).toBe('closed');

    // A 503 lost nothing: its key, retried, completes its checkout. One PaymentIntent per order.
    for (const answer of answers.filter((a) => a.status === 503)) {
      expect((await postOrder(ordersUrl, token, { key: answer.key })).status).toBe(201);
    }
    const perOrder = new Map<string, number>();
    for (const intent of stripe.paymentIntents()) {
      const id = intent.metadata.order_id;
      perOrder.set(id, (perOrder.get(id) ?? 0) + 1);
    }
    expect(perOrder.size).toBe(total);
    expect([...perOrder.values()].every((n) => n === 1)).toBe(true);
  });
});

/** Connections recycled every second or so, as a fleet's servers do every few minutes. */
const SHORT_CONNECTION_AGE = {
  GRPC_MAX_CONNECTION_AGE_MS: '1000',
  GRPC_MAX_CONNECTION_AGE_GRACE_MS: '1000',
};

describe('payments -> orders with several orders servers', () => {
  let stack: Stack;
  const notified: NestFastifyApplication[] = [];

  beforeAll(async () => {
    const [firstGrpc, secondGrpc, firstHttp, secondHttp] = await Promise.all(
      [1, 2, 3, 4].map(() => freePort()),
    );
    // payments notifies two orders instances; the stack's own orders takes the checkouts.
    stack = await Stack.start({
      webhooks: true,
      payments: {
        ORDERS_GRPC_URL: `ipv4:127.0.0.1:${firstGrpc},127.0.0.1:${secondGrpc}`,
        ...SHORT_CONNECTION_AGE,
      },
    });
    for (const [grpcPort, httpPort] of [
      [firstGrpc, firstHttp],
      [secondGrpc, secondHttp],
    ]) {
      notified.push(
        await startTestOrders({
          httpPort,
          grpcPort,
          databaseUrl: stack.ordersDb.url,
          paymentsUrl: stack.paymentsGrpcUrl,
          env: SHORT_CONNECTION_AGE,
        }),
      );
    }
  });

  afterAll(async () => {
    await Promise.all(notified.map((app) => app.close()));
    await stack.stop();
  });

  it('delivers outbox notifications to both orders instances of an ipv4: list', async () => {
    const received = notified.map((app) => jest.spyOn(app.get(PaymentUpdatesService), 'apply'));
    const token = await tokenFor('cus_outbox_spread');
    const stripe = new Stripe(STAND_IN_STRIPE_KEY, {
      host: '127.0.0.1',
      port: stack.stripe.port,
      protocol: 'http',
      maxNetworkRetries: 0,
    });
    // Payments one after the other until both instances have been told (payments may reach one
    // before it has connected to the other), each paid order seen as paid.
    for (let paid = 0; received.some((spy) => spy.mock.calls.length === 0); paid++) {
      expect(paid).toBeLessThan(10);
      const order = (await (await postOrder(stack.ordersUrl, token)).json()) as OrderBody;
      await stripe.paymentIntents.confirm(order.payment!.clientSecret!.split('_secret_')[0], {
        payment_method: 'pm_card_visa',
      });
      expect(await statusOnceSettled(order.id, token)).toBe('paid');
    }
  });

  it('has both servers close connections older than GRPC_MAX_CONNECTION_AGE_MS', async () => {
    const ordersGrpc = `127.0.0.1:${notified[0].get<symbol, OrdersConfig>(ORDERS_CONFIG).grpc.port}`;
    for (const target of [stack.paymentsGrpcUrl, ordersGrpc]) {
      const client = new Client(target, credentials.createInsecure());
      try {
        await new Promise<void>((resolve, reject) =>
          client.waitForReady(Date.now() + 5000, (error) => (error ? reject(error) : resolve())),
        );
        // The server's GOAWAY moves the channel out of READY (the client reconnects on its next call).
        const channel = client.getChannel();
        expect(channel.getConnectivityState(false)).toBe(connectivityState.READY);
        const changed = await new Promise<boolean>((resolve) =>
          channel.watchConnectivityState(connectivityState.READY, Date.now() + 5000, (error) =>
            resolve(!error),
          ),
        );
        expect(changed).toBe(true);
      } finally {
        client.close();
      }
    }
  });

  /** The order's status once it leaves awaiting_payment. */
  function statusOnceSettled(id: string, token: string): Promise<string> {
    return waitFor(`order ${id} to leave awaiting_payment`, async () => {
      const response = await fetch(`${stack.ordersUrl}/api/v1/orders/${id}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const { status: current } = (await response.json()) as OrderBody;
      return current === 'awaiting_payment' ? undefined : current;
    });
  }
});
