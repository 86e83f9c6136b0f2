// `npm run bench:reference`: the reference checkout (start.ts) beside the product's, both as
// processes on one embedded PostgreSQL, each with its own Stripe stand-in. First a smoke check of
// the reference (a checkout answers 201 with the order, its key replays it), then
// `POST /api/v1/orders` under autocannon, a fresh Idempotency-Key per request, reference then
// product, and the product's throughput as a fraction of the reference's. Loopback only; every
// load run is bounded in time (BENCH_DURATION_S, default 5; BENCH_CONCURRENCY, default 32).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deepStrictEqual, equal, match } from 'node:assert/strict';
import autocannon from 'autocannon';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { StripeStandIn } from '../../tools/stripe-stand-in/server.js';
import { freePort } from '../../tools/dev/ports.js';
import { createDatabaseIfMissing, startEmbeddedPostgres } from '../../tools/dev/postgres.js';
import { startReference } from './start.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ISSUER = 'https://bench.invalid/';
const AUDIENCE = 'orders-api';
const body = JSON.stringify({
  currency: 'usd',
  items: [{ sku: 'SKU-1', name: 'T-shirt', quantity: 2, unitAmount: 1500 }],
});

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(ordersUrl: string, token: string, durationS: number): Promise<Figures> {
  const result = await autocannon({
    url: `${ordersUrl}/api/v1/orders`,
    method: 'POST',
    connections: CONCURRENCY,
    duration: durationS,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
    // Each request gets a fresh key: every one is a new checkout.
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, 'idempotency-key': randomUUID() },
        }),
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

/** One checkout and its replay against the reference: the same answer twice, once stored. */
async function smoke(ordersUrl: string, token: string): Promise<void> {
  const send = () =>
    fetch(`${ordersUrl}/api/v1/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body,
    });
  const key = randomUUID();
  const first = await send();
  const order = (await first.clone().json()) as Record<string, unknown>;
  equal(first.status, 201);
  equal(first.headers.get('location'), `/api/v1/orders/${order.id as string}`);
  deepStrictEqual(Object.keys(order), [
    'id',
    'status',
    'currency',
    'amount',
    'amountRefunded',
    'items',
    'payment',
    'createdAt',
    'updatedAt',
  ]);
  equal(order.status, 'awaiting_payment');
  equal(order.amount, 3000);
  const payment = order.payment as Record<string, string>;
  equal(payment.status, 'requires_payment_method');
  match(payment.clientSecret, /^pi_\w+_secret_\w+$/);
  const again = await send();
  equal(again.status, 201);
  equal(again.headers.get('idempotent-replayed'), 'true');
  equal(await again.text(), await first.text());
  console.log(`reference smoke check: 201 ${order.id as string}, replayed byte for byte`);
}

async function startService(name: string, env: NodeJS.ProcessEnv, port: number) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      `${ROOT}dist/libs/observability/src/register.js`,
      `${ROOT}dist/apps/${name}/src/main.js`,
    ],
    { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).ok) return child;
    } catch {
      // starting
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} did not start`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** The product in production mode, tracing off: the recipe of bench/tracing-overhead.ts. */
async function startProduct(
  postgresUrl: (database?: string) => string,
  stripe: StripeStandIn,
  jwtPublicKey: string,
) {
  for (const database of ['orders', 'payments']) {
    await createDatabaseIfMissing(postgresUrl(), database);
  }
  const [oh, og, ph, pg] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const toOrders = randomBytes(24).toString('base64url');
  const toPayments = randomBytes(24).toString('base64url');
  const webhookSecret = `whsec_${randomBytes(24).toString('hex')}`;
  stripe.setWebhook(`http://127.0.0.1:${ph}/webhooks/stripe`, webhookSecret);
  const common = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    JWT_PUBLIC_KEY: jwtPublicKey,
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    ORDERS_GRPC_INBOUND_TOKENS: `payments=${toOrders}`,
    ORDERS_GRPC_TOKEN: toOrders,
    PAYMENTS_GRPC_INBOUND_TOKENS: `orders=${toPayments}`,
    PAYMENTS_GRPC_TOKEN: toPayments,
  };
  const payments = await startService(
    'payments',
    {
      ...common,
      STRIPE_SECRET_KEY: 'sk_test_bench',
      STRIPE_API_URL: stripe.url,
      STRIPE_ALLOW_INSECURE_API_URL: 'true',
      STRIPE_WEBHOOK_SECRET: webhookSecret,
      PAYMENTS_HTTP_PORT: String(ph),
      PAYMENTS_GRPC_PORT: String(pg),
      PAYMENTS_DATABASE_URL: postgresUrl('payments'),
      ORDERS_GRPC_URL: `127.0.0.1:${og}`,
      RATE_LIMIT_WEBHOOK_LIMIT: '100000000',
    },
    ph,
  );
  const orders = await startService(
    'orders',
    {
      ...common,
      ORDERS_HTTP_PORT: String(oh),
      ORDERS_GRPC_PORT: String(og),
      ORDERS_DATABASE_URL: postgresUrl('orders'),
      PAYMENTS_GRPC_URL: `127.0.0.1:${pg}`,
      RATE_LIMIT_DEFAULT_LIMIT: '100000000',
      RATE_LIMIT_CHECKOUT_LIMIT: '100000000',
      RATE_LIMIT_WEBHOOK_LIMIT: '100000000',
    },
    oh,
  );
  return {
    url: `http://127.0.0.1:${oh}`,
    stop: async () => {
      await stopChild(orders);
      await stopChild(payments);
    },
  };
}

const line = (name: string, r: Figures) =>
  `  ${name.padEnd(9)} ${r.rps.toFixed(0).padStart(5)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ` +
  `errors ${r.errors}`;

const dir = await mkdtemp(join(tmpdir(), 'bench-reference-'));
await chmod(dir, 0o711);
const postgres = await startEmbeddedPostgres({
  dataDir: join(dir, 'data'),
  port: await freePort(),
  throwaway: true,
});
const stripes = [await StripeStandIn.start({ port: 0 }), await StripeStandIn.start({ port: 0 })];
const stops: (() => Promise<void>)[] = [];
try {
  const signing = await generateKeyPair('ES256', { extractable: true });
  const jwtPublicKey = await exportSPKI(signing.publicKey);
  const token = await new SignJWT({ roles: ['customer'] })
    .setProtectedHeader({ alg: 'ES256' })
    .setSubject('bench-customer')
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setExpirationTime('1h')
    .sign(signing.privateKey);

  const reference = await startReference({
    postgresUrl: (database) => postgres.url(database),
    createDatabase: (name) => createDatabaseIfMissing(postgres.url(), name),
    stripeUrl: stripes[0].url,
    jwtPublicKeyPem: jwtPublicKey,
    jwtIssuer: ISSUER,
    jwtAudience: AUDIENCE,
  });
  stops.push(() => reference.stop());
  await smoke(reference.url, token);
  const product = await startProduct((db) => postgres.url(db), stripes[1], jwtPublicKey);
  stops.push(() => product.stop());

  // A short warm-up of each (JIT, pools, caches), then the measured runs.
  const measured: Record<string, Figures> = {};
  for (const [name, url] of [
    ['reference', reference.url],
    ['product', product.url],
  ] as const) {
    await load(url, token, 2);
    measured[name] = await load(url, token, DURATION_S);
  }
  console.log(
    `\nPOST /api/v1/orders, concurrency ${CONCURRENCY}, ${DURATION_S} s each:\n` +
      `${line('reference', measured.reference)}\n${line('product', measured.product)}\n` +
      `  product/reference throughput ${(measured.product.rps / measured.reference.rps).toFixed(2)}`,
  );
} finally {
  for (const stop of stops.reverse()) await stop();
  for (const stripe of stripes) await stripe.stop();
  await postgres.stop();
  await rm(dir, { recursive: true, force: true });
}
