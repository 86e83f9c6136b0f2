// `npm run bench:tracing`: POST /api/v1/orders throughput with tracing off versus on (every
// request sampled, exported over OTLP to a local sink), both services as production processes.
// Both stacks run side by side and take turns under load in short phases (off, on, on, off, ...),
// so that the machine's drift (other tenants, checkpoints, thermal) falls on both alike.
// Loopback only; every load phase is bounded in time.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { StripeStandIn } from '../tools/stripe-stand-in/server.js';
import { freePort } from '../tools/dev/ports.js';
import { createDatabaseIfMissing, startEmbeddedPostgres } from '../tools/dev/postgres.js';

// Production refuses the public development tokens of the gRPC calls: fresh ones for each run.
const toOrders = randomBytes(24).toString('base64url');
const toPayments = randomBytes(24).toString('base64url');
const grpcTokens = {
  ORDERS_GRPC_INBOUND_TOKENS: `payments=${toOrders}`,
  ORDERS_GRPC_TOKEN: toOrders,
  PAYMENTS_GRPC_INBOUND_TOKENS: `orders=${toPayments}`,
  PAYMENTS_GRPC_TOKEN: toPayments,
};

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 3000);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
// Production refuses HS256: the services verify ES256 tokens against a key pair made per run.
const signing = await generateKeyPair('ES256', { extractable: true });
const jwtEnv = {
  JWT_PUBLIC_KEY: await exportSPKI(signing.publicKey),
  JWT_ISSUER: 'https://bench.invalid/',
  JWT_AUDIENCE: 'orders-api',
};
const body = JSON.stringify({
  currency: 'usd',
  items: [{ sku: 'SKU-1', name: 'T-shirt', quantity: 2, unitAmount: 1500 }],
});

async function startService(name: string, env: NodeJS.ProcessEnv, port: number) {
  const child = spawn(
    process.execPath,
    [
      // BENCH_CPU_PROF=<dir>: a CPU profile of each service process, for finding the costs.
      ...(process.env.BENCH_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
        : []),
      '--import',
      `${ROOT}dist/libs/observability/src/register.js`,
      `${ROOT}dist/apps/${name}/src/main.js`,
    ],
    {
      // The heap limit the Dockerfile sets (see docs/performance.md).
      env: { PATH: process.env.PATH, NODE_OPTIONS: '--max-old-space-size=192', ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
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

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

interface Phase {
  latencies: number[];
  errors: number;
}

async function load(url: string, token: string): Promise<Phase> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + PHASE_MS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const started = performance.now();
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'idempotency-key': randomUUID(),
          },
          body,
        });
        await response.arrayBuffer();
        if (response.status !== 201) errors++;
        latencies.push(performance.now() - started);
      }
    }),
  );
  return { latencies, errors };
}

type Mode = 'off' | 'on';

/** Both services of one mode, on their own databases. */
async function startStack(mode: Mode, postgresUrl: (database?: string) => string, sinkUrl: string) {
  const databases = [`orders_${mode}`, `payments_${mode}`];
  for (const database of databases) await createDatabaseIfMissing(postgresUrl(), database);
  const [oh, og, ph, pg] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  // Each stack has its own Stripe, whose webhooks (payment_intent.created) reach its payments.
  const stripe = await StripeStandIn.start({ port: 0 });
  // Production refuses the public development secret: each run signs with its own.
  const webhookSecret = `whsec_${randomBytes(24).toString('hex')}`;
  stripe.setWebhook(`http://127.0.0.1:${ph}/webhooks/stripe`, webhookSecret);
  const otel: NodeJS.ProcessEnv =
    mode === 'on'
      ? {
          OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
          OTEL_TRACES_SAMPLER: 'always_on',
          OTEL_SEMCONV_STABILITY_OPT_IN: 'http,database,rpc',
        }
      : {};
  // No drain delay: no load balancer to wait for, only the benchmark's own requests.
  const common = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    ...jwtEnv,
    ...grpcTokens,
    ...otel,
  };
  const payments = await startService(
    'payments',
    {
      ...common,
      OTEL_SERVICE_NAME: 'payments',
      STRIPE_SECRET_KEY: 'sk_test_bench',
      STRIPE_API_URL: stripe.url,
      // The stand-in on loopback speaks plain HTTP; production refuses it without this switch.
      STRIPE_ALLOW_INSECURE_API_URL: 'true',
      STRIPE_WEBHOOK_SECRET: webhookSecret,
      PAYMENTS_HTTP_PORT: String(ph),
      PAYMENTS_GRPC_PORT: String(pg),
      PAYMENTS_DATABASE_URL: postgresUrl(databases[1]),
      ORDERS_GRPC_URL: `127.0.0.1:${og}`,
      RATE_LIMIT_WEBHOOK_LIMIT: '100000000',
    },
    ph,
  );
  const orders = await startService(
    'orders',
    {
      ...common,
      OTEL_SERVICE_NAME: 'orders',
      ORDERS_HTTP_PORT: String(oh),
      ORDERS_GRPC_PORT: String(og),
      ORDERS_DATABASE_URL: postgresUrl(databases[0]),
      PAYMENTS_GRPC_URL: `127.0.0.1:${pg}`,
      // One customer at full speed: measure tracing, not the rate limiter's 429s.
      RATE_LIMIT_DEFAULT_LIMIT: '100000000',
      RATE_LIMIT_CHECKOUT_LIMIT: '100000000',
      RATE_LIMIT_WEBHOOK_LIMIT: '100000000',
    },
    oh,
  );
  return { url: `http://127.0.0.1:${oh}/api/v1/orders`, processes: [orders, payments], stripe };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

const dir = await mkdtemp(join(tmpdir(), 'bench-tracing-'));
await chmod(dir, 0o711);
const postgres = await startEmbeddedPostgres({
  dataDir: join(dir, 'data'),
  port: await freePort(),
  throwaway: true,
});
const sink = createServer((request, response) => {
  request.resume();
  request.on('end', () =>
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}'),
  );
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
const phases: Record<Mode, Phase[]> = { off: [], on: [] };
const stacks: Awaited<ReturnType<typeof startStack>>[] = [];

try {
  const token = await new SignJWT({ roles: ['customer'] })
    .setProtectedHeader({ alg: 'ES256' })
    .setSubject('bench-customer')
    .setIssuer(jwtEnv.JWT_ISSUER)
    .setAudience(jwtEnv.JWT_AUDIENCE)
    .setExpirationTime('1h')
    .sign(signing.privateKey);
  const urls = {} as Record<Mode, string>;
  const stripes = {} as Record<Mode, StripeStandIn>;
  for (const mode of ['off', 'on'] as const) {
    const stack = await startStack(mode, (db) => postgres.url(db), sinkUrl);
    stacks.push(stack);
    urls[mode] = stack.url;
    stripes[mode] = stack.stripe;
    await load(stack.url, token); // warm-up: JIT, pools, caches
  }
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    // off-on, then on-off: a trend within a cycle cancels out over two.
    const order: Mode[] = cycle % 2 === 1 ? ['off', 'on'] : ['on', 'off'];
    const rates: Partial<Record<Mode, number>> = {};
    for (const mode of order) {
      const phase = await load(urls[mode], token);
      phases[mode].push(phase);
      // Drain the webhooks the phase set off (payment_intent.created) before the other mode's
      // phase, so that they load the stack that caused them.
      await stripes[mode].webhooksIdle();
      rates[mode] = phase.latencies.length / (PHASE_MS / 1000);
    }
    console.log(
      `cycle ${cycle}/${CYCLES}: off ${rates.off!.toFixed(0)} req/s, on ${rates.on!.toFixed(0)} req/s, ` +
        `on/off ${(rates.on! / rates.off!).toFixed(2)}`,
    );
  }
  const summary = (mode: Mode) => {
    const latencies = phases[mode].flatMap((p) => p.latencies).sort((a, b) => a - b);
    return {
      rps: latencies.length / ((CYCLES * PHASE_MS) / 1000),
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      errors: phases[mode].reduce((sum, p) => sum + p.errors, 0),
    };
  };
  const off = summary('off');
  const on = summary('on');
  const line = (mode: Mode, r: typeof off) =>
    `  tracing ${mode.padEnd(3)} ${r.rps.toFixed(0).padStart(5)} req/s, p50 ${r.p50.toFixed(1)} ms, ` +
    `p99 ${r.p99.toFixed(1)} ms, errors ${r.errors}`;
  console.log(
    `\nPOST /api/v1/orders, concurrency ${CONCURRENCY}, ${CYCLES} cycles of ${PHASE_MS / 1000} s ` +
      `phases per mode:\n${line('off', off)}\n${line('on', on)}\n` +
      `  on/off throughput ${(on.rps / off.rps).toFixed(2)}`,
  );
} finally {
  for (const stack of stacks) {
    for (const child of stack.processes) await stop(child);
    await stack.stripe.stop();
  }
  sink.close();
  await postgres.stop();
  await rm(dir, { recursive: true, force: true });
}
