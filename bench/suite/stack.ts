// The system under test, as production runs it: both services as their own Node processes
// (NODE_ENV=production, the same preload and entry points as the Dockerfile), the Stripe stand-in,
// and PostgreSQL (embedded, or a server the caller names).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import pg from 'pg';
import { StripeStandIn } from '../../tools/stripe-stand-in/server.js';
import { STRIPE_WEBHOOK_EVENTS } from '#contracts/stripe-events.js';
import { freePort } from '#testing/ports.js';
import { startEmbeddedPostgres } from '#testing/embedded-postgres.js';
import { childrenOf } from './process-metrics.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Secrets made per run: production refuses every development default. */
export interface Credentials {
  /** ES256 verification key and claims the services check (production refuses HS256). */
  jwt: { JWT_PUBLIC_KEY: string; JWT_ISSUER: string; JWT_AUDIENCE: string };
  /** Bearer tokens of the gRPC calls in both directions. */
  grpc: Record<string, string>;
  /** A customer's access token, valid for an hour. */
  customerToken: string;
}

export async function makeCredentials(): Promise<Credentials> {
  const signing = await generateKeyPair('ES256', { extractable: true });
  const jwt = {
    JWT_PUBLIC_KEY: await exportSPKI(signing.publicKey),
    JWT_ISSUER: 'https://bench.invalid/',
    JWT_AUDIENCE: 'orders-api',
  };
  const toOrders = randomBytes(24).toString('base64url');
  const toPayments = randomBytes(24).toString('base64url');
  const customerToken = await new SignJWT({ roles: ['customer'] })
    .setProtectedHeader({ alg: 'ES256' })
    .setSubject('bench-customer')
    .setIssuer(jwt.JWT_ISSUER)
    .setAudience(jwt.JWT_AUDIENCE)
    .setExpirationTime('1h')
    .sign(signing.privateKey);
  return {
    jwt,
    grpc: {
      ORDERS_GRPC_INBOUND_TOKENS: `payments=${toOrders}`,
      ORDERS_GRPC_TOKEN: toOrders,
      PAYMENTS_GRPC_INBOUND_TOKENS: `orders=${toPayments}`,
      PAYMENTS_GRPC_TOKEN: toPayments,
    },
    customerToken,
  };
}

/** A PostgreSQL server on which the benchmark creates (and finally drops) its own databases. */
export interface DatabaseServer {
  url(database: string): string;
  /** The server's processes (postmaster and backends), when it is ours. */
  pids?: () => number[];
  /** Creates `name` afresh (dropping a leftover of an earlier run). */
  create(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** `BENCH_DATABASE_URL` if given, else an embedded, throwaway server with its data in `dir`. */
export async function startDatabaseServer(
  serverUrl: string | undefined,
  dir: string,
): Promise<DatabaseServer> {
  let url: (database: string) => string;
  let stopServer = async () => {};
  let pids: (() => number[]) | undefined;
  if (serverUrl) {
    url = (database) => {
      const parsed = new URL(serverUrl);
      parsed.pathname = `/${encodeURIComponent(database)}`;
      return parsed.toString();
    };
  } else {
    const embedded = await startEmbeddedPostgres({
      dataDir: join(dir, 'postgres'),
      port: await freePort(),
      throwaway: true,
    });
    url = (database) => embedded.url(database);
    stopServer = () => embedded.stop();
    const postmaster = Number(
      readFileSync(join(dir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    pids = () => [postmaster, ...childrenOf(postmaster)];
  }
  const created: string[] = [];
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: url('postgres') });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;
  return {
    url,
    pids,
    async create(name) {
      await admin(`DROP DATABASE IF EXISTS ${quoted(name)} WITH (FORCE)`);
      await admin(`CREATE DATABASE ${quoted(name)}`);
      created.push(name);
    },
    async stop() {
      // A configured server outlives the run: leave it as it was found.
      if (serverUrl) {
        for (const name of created) {
          await admin(`DROP DATABASE IF EXISTS ${quoted(name)} WITH (FORCE)`);
        }
      }
      await stopServer();
    },
  };
}

/** Starts `node dist/apps/<name>/src/main.js` and waits until it is ready. */
export async function startService(
  name: 'orders' | 'payments',
  env: NodeJS.ProcessEnv,
  httpPort: number,
): Promise<ChildProcess> {
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
      // The heap limits the Dockerfile sets; BENCH_NODE_OPTIONS replaces them.
      env: {
        PATH: process.env.PATH,
        NODE_OPTIONS:
          process.env.BENCH_NODE_OPTIONS ?? '--max-old-space-size=192 --max-semi-space-size=16',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${httpPort}/health/ready`)).ok) return child;
    } catch {
      // still starting
    }
    await sleep(100);
  }
  await stopProcess(child);
  throw new Error(`${name} did not become ready`);
}

/** SIGTERM, and the exit awaited (the services drain and close their pools). */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

export interface Stack {
  label: string;
  ordersUrl: string;
  paymentsUrl: string;
  /** orders' own database, for checks the API does not offer cheaply (all orders paid yet?). */
  ordersDatabaseUrl: string;
  stripe: StripeStandIn;
  webhookSecret: string;
  processes: { orders: ChildProcess; payments: ChildProcess };
  stopPayments(): Promise<void>;
  stop(): Promise<void>;
}

export interface StackOptions {
  label: string;
  database: DatabaseServer;
  credentials: Credentials;
  /** Turns tracing on, exported over OTLP to this endpoint: every request sampled, or... */
  otlpEndpoint?: string;
  /** ...this share of the traces (`parentbased_traceidratio`), as production would sample. */
  samplingRatio?: number;
}

/**
 * The OTEL_* settings of a traced benchmark process (ours and the reference alike): OTLP to
 * `endpoint`, every trace recorded, or `ratio` of them as a production deployment would sample.
 */
export function tracingEnv(endpoint: string, ratio?: number): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    ...(ratio === undefined
      ? { OTEL_TRACES_SAMPLER: 'always_on' }
      : {
          OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
          OTEL_TRACES_SAMPLER_ARG: String(ratio),
        }),
    OTEL_SEMCONV_STABILITY_OPT_IN: 'http,database,rpc',
  };
}

/** Both services of one stack, on their own databases and with their own Stripe stand-in. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const { label, database, credentials, otlpEndpoint, samplingRatio } = options;
  const databases = { orders: `bench_${label}_orders`, payments: `bench_${label}_payments` };
  await database.create(databases.orders);
  await database.create(databases.payments);
  const [oh, og, ph, pgPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  // The stand-in answers at once (no artificial latency); its webhooks reach this payments.
  const stripe = await StripeStandIn.start({ port: 0 });
  const webhookSecret = `whsec_${randomBytes(24).toString('hex')}`;
  // Subscribed as production's endpoint is: only the events payments applies.
  stripe.setWebhook(`http://127.0.0.1:${ph}/webhooks/stripe`, webhookSecret, STRIPE_WEBHOOK_EVENTS);
  const otel: NodeJS.ProcessEnv = otlpEndpoint ? tracingEnv(otlpEndpoint, samplingRatio) : {};
  const processes: Partial<Stack['processes']> = {};
  const stopAll = async () => {
    for (const child of [processes.orders, processes.payments]) {
      if (child) await stopProcess(child);
    }
    await stripe.stop();
  };
  try {
    processes.payments = await startService(
      'payments',
      paymentsEnv(credentials, {
        stripeUrl: stripe.url,
        webhookSecret,
        httpPort: ph,
        grpcPort: pgPort,
        databaseUrl: database.url(databases.payments),
        ordersTarget: `127.0.0.1:${og}`,
        extra: otel,
      }),
      ph,
    );
    processes.orders = await startService(
      'orders',
      ordersEnv(credentials, {
        httpPort: oh,
        grpcPort: og,
        databaseUrl: database.url(databases.orders),
        paymentsTarget: `127.0.0.1:${pgPort}`,
        extra: {
          ...otel,
          // The circuit-open scenario trips the breaker once and measures it open for all its
          // rounds; a half-open trial in between would measure retries instead.
          PAYMENTS_BREAKER_HALF_OPEN_AFTER_MS: String(60 * 60_000),
        },
      }),
      oh,
    );
  } catch (error) {
    await stopAll();
    throw error;
  }
  const running = processes as Stack['processes'];
  return {
    label,
    ordersUrl: `http://127.0.0.1:${oh}`,
    paymentsUrl: `http://127.0.0.1:${ph}`,
    ordersDatabaseUrl: database.url(databases.orders),
    stripe,
    webhookSecret,
    processes: running,
    stopPayments: () => stopProcess(running.payments),
    stop: stopAll,
  };
}

/** What every benchmarked process runs with: production, the run's credentials. */
function productionEnv(credentials: Credentials, name: string): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    // No load balancer to wait for on shutdown, only the benchmark's own requests.
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    OTEL_SERVICE_NAME: name,
    ...credentials.jwt,
    ...credentials.grpc,
  };
}

/** payments as benchmarked: Stripe is the stand-in (plain HTTP on loopback). */
export function paymentsEnv(
  credentials: Credentials,
  p: {
    stripeUrl: string;
    webhookSecret: string;
    httpPort: number;
    grpcPort: number;
    databaseUrl: string;
    ordersTarget: string;
    extra?: NodeJS.ProcessEnv;
  },
): NodeJS.ProcessEnv {
  return {
    ...productionEnv(credentials, 'payments'),
    STRIPE_SECRET_KEY: 'sk_test_bench',
    STRIPE_API_URL: p.stripeUrl,
    // The stand-in on loopback speaks plain HTTP; production refuses it without this switch.
    STRIPE_ALLOW_INSECURE_API_URL: 'true',
    STRIPE_WEBHOOK_SECRET: p.webhookSecret,
    PAYMENTS_HTTP_PORT: String(p.httpPort),
    PAYMENTS_GRPC_PORT: String(p.grpcPort),
    PAYMENTS_DATABASE_URL: p.databaseUrl,
    ORDERS_GRPC_URL: p.ordersTarget,
    ...p.extra,
  };
}

/**
 * orders as benchmarked. The benchmark measures the services, not the rate limiter: one customer
 * at full speed would otherwise get 429s within the first second.
 */
export function ordersEnv(
  credentials: Credentials,
  p: {
    httpPort: number;
    grpcPort: number;
    databaseUrl: string;
    paymentsTarget: string;
    extra?: NodeJS.ProcessEnv;
  },
): NodeJS.ProcessEnv {
  const unlimited = '100000000';
  return {
    ...productionEnv(credentials, 'orders'),
    ORDERS_HTTP_PORT: String(p.httpPort),
    ORDERS_GRPC_PORT: String(p.grpcPort),
    ORDERS_DATABASE_URL: p.databaseUrl,
    PAYMENTS_GRPC_URL: p.paymentsTarget,
    RATE_LIMIT_DEFAULT_LIMIT: unlimited,
    RATE_LIMIT_CHECKOUT_LIMIT: unlimited,
    RATE_LIMIT_CHECKOUT_ADDRESS_LIMIT: unlimited,
    RATE_LIMIT_WEBHOOK_LIMIT: unlimited,
    ...p.extra,
  };
}

export interface OtlpSink {
  url: string;
  /** Bytes of the export requests' bodies received so far: what a collector would be sent. */
  bytes(): number;
  stop(): Promise<void>;
}

/** A local OTLP/HTTP endpoint that accepts and discards everything: the tracing cost's sink. */
export async function startOtlpSink(): Promise<OtlpSink> {
  let received = 0;
  const sink: Server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => (received += chunk.length));
    request.on('end', () =>
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}'),
    );
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(sink.address() as AddressInfo).port}`,
    bytes: () => received,
    stop: () =>
      new Promise<void>((resolve) => {
        sink.close(() => resolve());
        sink.closeAllConnections();
      }),
  };
}
