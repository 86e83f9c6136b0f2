// `npm run bench:reference`: the reference checkout (start.ts) beside the product's, both as
// processes on one embedded PostgreSQL, each with its own Stripe stand-in. First a smoke check of
// the reference (a checkout answers 201 with the order, its key replays it), then
// `POST /api/v1/orders` under autocannon, a fresh Idempotency-Key per request, reference and
// product taking turns, and the product's throughput as a fraction of the reference's. Loopback
// only; every load run is bounded in time (BENCH_DURATION_S, default 5, BENCH_CYCLES, default 3,
// of each; BENCH_CONCURRENCY, default 32).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deepStrictEqual, equal, match } from 'node:assert/strict';
import autocannon from 'autocannon';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { StripeStandIn } from '../../tools/stripe-stand-in/server.js';
import { freePort } from '#testing/ports.js';
import { createDatabaseIfMissing, startEmbeddedPostgres } from '#testing/embedded-postgres.js';
import { startReference } from './start.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 3);
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
  /** CPU of orders, payments, this process (load generator + stand-in), PostgreSQL, in cores. */
  cores: number[];
}

async function load(
  ordersUrl: string,
  token: string,
  durationS: number,
): Promise<Omit<Figures, 'cores'>> {
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

interface Stat {
  pid: number;
  ppid: number;
  comm: string;
  /** User + system CPU seconds used so far. */
  cpu: number;
  withReaped: number;
}

/** Every process's /proc/<pid>/stat (Linux): gone processes are skipped. */
async function processes(): Promise<Stat[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  const stats = await Promise.all(
    pids.map((pid) => readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)),
  );
  return stats.flatMap((stat) => {
    if (!stat) return [];
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    return [
      {
        pid: Number(stat.slice(0, stat.indexOf(' '))),
        comm: stat.slice(stat.indexOf('(') + 1, close),
        ppid: Number(fields[1]),
        cpu: (Number(fields[11]) + Number(fields[12])) / 100,
        // Including the children it has reaped: PostgreSQL's ended backends and workers.
        withReaped:
          (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100,
      },
    ];
  });
}

/** CPU seconds of the given processes, of this one, and of its PostgreSQL (server + backends). */
async function cpuSeconds(pids: number[]): Promise<number[]> {
  const all = await processes();
  const cpu = (pid: number) => all.find((p) => p.pid === pid)?.cpu ?? 0;
  const postmasters = all.filter((p) => p.ppid === process.pid && p.comm === 'postgres');
  const postgres =
    postmasters.reduce((sum, p) => sum + p.withReaped, 0) +
    all.filter((p) => postmasters.some((m) => m.pid === p.ppid)).reduce((sum, p) => sum + p.cpu, 0);
  return [...pids.map(cpu), cpu(process.pid), postgres];
}

async function measure(url: string, token: string, pids: number[]): Promise<Figures> {
  const before = await cpuSeconds(pids);
  const figures = await load(url, token, DURATION_S);
  const after = await cpuSeconds(pids);
  return { ...figures, cores: after.map((seconds, i) => (seconds - before[i]) / DURATION_S) };
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

/** The product in production mode, tracing off: as bench/suite/stack.ts starts it. */
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
      RATE_LIMIT_CHECKOUT_ADDRESS_LIMIT: '100000000',
      RATE_LIMIT_WEBHOOK_LIMIT: '100000000',
    },
    oh,
  );
  return {
    url: `http://127.0.0.1:${oh}`,
    pids: [orders.pid!, payments.pid!],
    stop: async () => {
      await stopChild(orders);
      await stopChild(payments);
    },
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** CPU milliseconds per checkout of orders, payments and PostgreSQL together. */
const cpuPerCheckout = (r: Figures) => ((r.cores[0] + r.cores[1] + r.cores[3]) * 1000) / r.rps;

// CPU per checkout barely depends on how busy the rest of the machine is; req/s does.
const perCheckout = (r: Figures, i: number) => ((r.cores[i] * 1000) / r.rps).toFixed(1);

const line = (name: string, r: Figures) =>
  `  ${name.padEnd(9)} ${r.rps.toFixed(0).padStart(5)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ` +
  `errors ${r.errors}\n${' '.repeat(12)}CPU ms per checkout: orders ${perCheckout(r, 0)}, ` +
  `payments ${perCheckout(r, 1)}, PostgreSQL ${perCheckout(r, 3)}, ` +
  `load generator + stand-in ${perCheckout(r, 2)}`;

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

  // A short warm-up of each (JIT, pools, caches), then interleaved runs: reference-product, then
  // product-reference, so that the machine's drift (other tenants, checkpoints) falls on both.
  const stacks = { reference, product };
  for (const { url } of Object.values(stacks)) await load(url, token, 2);
  const runs: Record<keyof typeof stacks, Figures[]> = { reference: [], product: [] };
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    const order =
      cycle % 2 === 1 ? (['reference', 'product'] as const) : (['product', 'reference'] as const);
    for (const name of order)
      runs[name].push(await measure(stacks[name].url, token, stacks[name].pids));
    const ratio = runs.product.at(-1)!.rps / runs.reference.at(-1)!.rps;
    console.log(
      `cycle ${cycle}/${CYCLES}:\n${line('reference', runs.reference.at(-1)!)}\n` +
        `${line('product', runs.product.at(-1)!)}\n  product/reference ${ratio.toFixed(2)}`,
    );
  }
  const ratios = runs.product.map((run, i) => run.rps / runs.reference[i].rps);
  console.log(
    `\nPOST /api/v1/orders, concurrency ${CONCURRENCY}, ${CYCLES} x ${DURATION_S} s each, ` +
      `product/reference throughput per cycle ${ratios.map((r) => r.toFixed(2)).join(', ')}, ` +
      `median ${median(ratios).toFixed(2)}\n` +
      `CPU per checkout (orders + payments + PostgreSQL), reference/product: ` +
      `${(median(runs.reference.map(cpuPerCheckout)) / median(runs.product.map(cpuPerCheckout))).toFixed(2)}`,
  );
} finally {
  for (const stop of stops.reverse()) await stop();
  for (const stripe of stripes) await stripe.stop();
  await postgres.stop();
  await rm(dir, { recursive: true, force: true });
}
