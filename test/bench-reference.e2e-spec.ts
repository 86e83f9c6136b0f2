import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportSPKI, generateKeyPair, type KeyObject, SignJWT } from 'jose';
import pg from 'pg';
import { startReference, type RunningReference } from '../bench/reference/start.js';
import { StripeStandIn } from '../tools/stripe-stand-in/server.js';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';

const ISSUER = 'https://reference.test/';
const AUDIENCE = 'orders-api';
const SERVER = 2;
const CLIENT = 3;
const cart = {
  currency: 'usd',
  items: [
    { sku: 'SKU-1', name: 'T-shirt', quantity: 2, unitAmount: 1500 },
    { sku: 'SKU-2', name: 'Socks', quantity: 1, unitAmount: 499 },
  ],
};

function adminUrl(database = 'postgres'): string {
  const url = new URL(process.env.TEST_PG_ADMIN_URL!);
  url.pathname = `/${database}`;
  return url.href;
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The benchmark's reference checkout (bench/reference), built from dist/ like the services. */
describe('the benchmark reference checkout', () => {
  let stripe: StripeStandIn;
  let reference: RunningReference;
  let signingKey: KeyObject;
  let publicKeyPem: string;
  const databases: string[] = [];

  const start = (telemetry?: Record<string, string>) =>
    startReference({
      telemetry,
      postgresUrl: adminUrl,
      createDatabase: async (name) => {
        databases.push(name);
        await admin(`CREATE DATABASE ${name}`);
      },
      stripeUrl: stripe.url,
      jwtPublicKeyPem: publicKeyPem,
      jwtIssuer: ISSUER,
      jwtAudience: AUDIENCE,
    });

  const tokenFor = (subject: string, key: KeyObject = signingKey) =>
    new SignJWT({ roles: ['customer'] })
      .setProtectedHeader({ alg: 'ES256' })
      .setSubject(subject)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(key);

  const checkout = async (token: string, key: string, body: unknown = cart, url = reference.url) =>
    fetch(`${url}/api/v1/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify(body),
    });

  async function ordersDb<T>(sql: string, params: unknown[]): Promise<T[]> {
    const client = new pg.Client({
      connectionString: adminUrl(databases.find((name) => name.startsWith('ref_orders_'))),
    });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    signingKey = pair.privateKey;
    publicKeyPem = await exportSPKI(pair.publicKey);
    stripe = await StripeStandIn.start({ port: 0 });
    reference = await start();
  });

  afterAll(async () => {
    await reference?.stop();
    await stripe?.stop();
    for (const name of databases) await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });

  it('answers a checkout with 201, the order awaiting its payment and its Location', async () => {
    const response = await checkout(await tokenFor('cus_ref_create'), randomUUID());

    expect(response.status).toBe(201);
    const order = (await response.json()) as Record<string, unknown>;
    expect(order).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: 'awaiting_payment',
      currency: 'usd',
      amount: 3499,
      amountRefunded: 0,
      items: cart.items,
      payment: {
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        status: 'requires_payment_method',
        clientSecret: expect.stringMatching(/^pi_\w+_secret_\w+$/),
      },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(response.headers.get('location')).toBe(`/api/v1/orders/${order.id as string}`);
    const intents = stripe.paymentIntents().filter((pi) => pi.metadata.order_id === order.id);
    expect(intents.map((pi) => [pi.amount, pi.currency])).toEqual([[3499, 'usd']]);
  });

  it('writes what the product writes: order, items, status history, completed key', async () => {
    const key = randomUUID();
    const order = (await (await checkout(await tokenFor('cus_ref_rows'), key)).json()) as {
      id: string;
    };

    const [row] = await ordersDb<Record<string, unknown>>(
      `SELECT o.status, o.payment_status, k.state, k.order_id, k.response_status,
              (SELECT count(*)::int FROM order_items WHERE order_id = o.id) AS items,
              (SELECT array_agg(to_status) FROM order_status_history WHERE order_id = o.id)
                AS history
         FROM orders o JOIN idempotency_keys k ON k.order_id = o.id
        WHERE o.id = $1 AND k.customer_id = $2 AND k.key = $3`,
      [order.id, 'cus_ref_rows', key],
    );
    expect(row).toEqual({
      status: 'awaiting_payment',
      payment_status: 'requires_payment_method',
      state: 'completed',
      order_id: order.id,
      response_status: 201,
      items: 2,
      history: ['awaiting_payment'],
    });
  });

  it('replays the stored response for a repeated key without a second payment', async () => {
    const token = await tokenFor('cus_ref_replay');
    const key = randomUUID();
    const first = await checkout(token, key);
    const firstBody = await first.text();
    const intentsBefore = stripe.paymentIntents().length;

    const again = await checkout(token, key);

    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    expect(await again.text()).toBe(firstBody);
    expect(stripe.paymentIntents()).toHaveLength(intentsBefore);
  });

  it('answers 422 to a key reused with another order', async () => {
    const token = await tokenFor('cus_ref_reuse');
    const key = randomUUID();
    expect((await checkout(token, key)).status).toBe(201);

    const other = { ...cart, items: [{ ...cart.items[0], quantity: 3 }] };
    expect((await checkout(token, key, other)).status).toBe(422);
  });

  it('answers 401 to a token signed with another key', async () => {
    const stranger = await generateKeyPair('ES256');
    const token = await tokenFor('cus_ref_forged', stranger.privateKey);

    expect((await checkout(token, randomUUID())).status).toBe(401);
  });

  it('answers 400 to a checkout without an Idempotency-Key', async () => {
    const response = await fetch(`${reference.url}/api/v1/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await tokenFor('cus_ref_nokey')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify(cart),
    });
    expect(response.status).toBe(400);
  });

  it('traces with the services SDK preloaded when given OTEL_* settings: one trace over both', async () => {
    const receiver = await OtlpReceiver.start();
    const traced = await start({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_TRACES_SAMPLER: 'always_on',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_SEMCONV_STABILITY_OPT_IN: 'http,database,rpc',
    });
    try {
      const response = await checkout(
        await tokenFor('cus_ref_traced'),
        randomUUID(),
        cart,
        traced.url,
      );
      expect(response.status).toBe(201);

      const root = await receiver.waitFor(() =>
        receiver.spans.find((s) => s.service === 'reference-orders' && s.kind === SERVER),
      );
      // Each process exports in its own batches: wait for every hop, whichever export brings it.
      const hops = {
        'orders HTTP server': (s: ReceivedSpan) =>
          s.service === 'reference-orders' && s.kind === SERVER,
        'orders SQL': (s: ReceivedSpan) =>
          s.service === 'reference-orders' && s.attributes['db.system.name'] === 'postgresql',
        'orders gRPC client': (s: ReceivedSpan) =>
          s.service === 'reference-orders' && s.kind === CLIENT && s.name.endsWith('CreatePayment'),
        'payments gRPC server': (s: ReceivedSpan) =>
          s.service === 'reference-payments' &&
          s.kind === SERVER &&
          s.name.endsWith('CreatePayment'),
        'payments SQL': (s: ReceivedSpan) =>
          s.service === 'reference-payments' && s.attributes['db.system.name'] === 'postgresql',
        'payments HTTP client to Stripe': (s: ReceivedSpan) =>
          s.service === 'reference-payments' &&
          s.kind === CLIENT &&
          s.attributes['server.port'] === stripe.port,
      };
      const trace = await receiver
        .waitFor(() => {
          const spans = receiver.trace(root.traceId);
          return Object.values(hops).every((hop) => spans.some(hop)) ? spans : undefined;
        })
        .catch(() => receiver.trace(root.traceId));

      expect(
        Object.entries(hops)
          .filter(([, hop]) => trace.some(hop))
          .map(([name]) => name),
      ).toEqual(Object.keys(hops));
    } finally {
      await traced.stop();
      await receiver.stop();
    }
  });

  it('ends both of its processes when stopped', async () => {
    const second = await start();
    await second.stop();

    for (const pid of second.pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});
