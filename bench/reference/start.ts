// Starts the benchmark's reference checkout (orders.ts + payments.ts beside this file: raw
// libraries, the product's SQL and contracts, no framework) as two processes, on two fresh
// databases carrying the product's own migrations, so tables, indexes and constraints are the
// product's. Migrating is setup, done here through TypeORM once, never on the measured path.
// The SQL the processes run is the product's own statements, taken here from its repositories.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { migrations as ordersMigrations } from '../../apps/orders/src/database/migrations/index.js';
import {
  COMPLETE,
  FORGET_UNUSED,
  INSERT_OR_FIND,
  UNLOCK,
} from '../../apps/orders/src/idempotency/idempotency.repository.js';
import { ATTACH_PAYMENT, INSERT_ORDER } from '../../apps/orders/src/orders/orders.repository.js';
import { migrations as paymentsMigrations } from '../../apps/payments/src/database/migrations/index.js';
import {
  INSERT_PAYMENT,
  RECORD_INTENT,
} from '../../apps/payments/src/payments/payments.repository.js';
import { freePort } from '#testing/ports.js';

export interface ReferenceOptions {
  /** A connection URL for `database` on the benchmark's PostgreSQL. */
  postgresUrl: (database: string) => string;
  createDatabase: (name: string) => Promise<void>;
  /** The Stripe stand-in's base URL (plain HTTP). */
  stripeUrl: string;
  jwtPublicKeyPem: string;
  jwtIssuer: string;
  jwtAudience: string;
  /**
   * OTEL_* variables for both processes. Given, each process preloads the services' own
   * `dist/libs/observability/src/register.js` with them: the same SDK and instrumentations as the
   * product (those with nothing to patch here, as Fastify's, stay inert), and no spans of its own.
   * OTEL_SERVICE_NAME defaults to `reference-orders` and `reference-payments`.
   */
  telemetry?: Record<string, string>;
}

export interface RunningReference {
  /** The orders base URL: checkouts go to `${url}/api/v1/orders`. */
  url: string;
  /** Orders' and payments' process ids, for CPU and memory sampling. */
  pids: number[];
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;

/** A statement as pg takes it: a named one is prepared once per connection, as the product does. */
export interface Statement {
  name?: string;
  text: string;
}

/**
 * The product's statements each process runs, handed over in REF_STATEMENTS, so the reference's
 * SQL is the product's and cannot drift from it. The processes do not import the repositories
 * themselves: that would load NestJS and TypeORM into them, which the reference leaves out.
 */
const STATEMENTS = {
  orders: {
    insertOrFind: INSERT_OR_FIND,
    insertOrder: INSERT_ORDER,
    attachPayment: ATTACH_PAYMENT,
    complete: COMPLETE,
    forgetUnused: { text: FORGET_UNUSED },
    unlock: { text: UNLOCK },
  },
  payments: { insertPayment: INSERT_PAYMENT, recordIntent: RECORD_INTENT },
} satisfies Record<string, Record<string, Statement>>;

export type OrdersStatements = typeof STATEMENTS.orders;
export type PaymentsStatements = typeof STATEMENTS.payments;

// The processes always run compiled: from dist/ when this module is compiled, else from the
// repository's dist/ (this module loaded from its TypeScript source).
const COMPILED = new URL(
  import.meta.url.endsWith('.ts') ? '../../dist/bench/reference/' : './',
  import.meta.url,
);

async function migrate(url: string, migrations: DataSourceOptions['migrations']): Promise<void> {
  const db = new DataSource({
    type: 'postgres',
    url,
    migrations,
    migrationsTransactionMode: 'each',
  });
  await db.initialize();
  try {
    await db.runMigrations();
  } finally {
    await db.destroy();
  }
}

// The preload the services' processes start with (Dockerfile, bench/suite/stack.ts), then the
// reference's own: node:http loaded as the product's libraries load it (see instrument-http.ts).
const TRACED = [
  '--import',
  fileURLToPath(new URL('../../libs/observability/src/register.js', COMPILED)),
  '--import',
  fileURLToPath(new URL('instrument-http.js', COMPILED)),
];

async function spawnReady(
  name: string,
  env: Record<string, string>,
  telemetry: Record<string, string> | undefined,
): Promise<ChildProcess> {
  const child = fork(fileURLToPath(new URL(`${name}.js`, COMPILED)), [], {
    // Not the caller's flags (fork's default): BENCH_CPU_PROF=<dir> asks for CPU profiles.
    execArgv: [
      ...(process.env.BENCH_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
        : []),
      ...(telemetry ? TRACED : []),
    ],
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      ...(telemetry && { OTEL_SERVICE_NAME: `reference-${name}`, ...telemetry }),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const timeout = AbortSignal.timeout(START_TIMEOUT_MS);
  const started = await Promise.race([
    once(child, 'message', { signal: timeout }).then(() => true),
    once(child, 'exit', { signal: timeout }).then(() => false),
  ]).catch(() => false);
  if (!started) {
    await stopChild(child);
    throw new Error(`reference ${name} did not start`);
  }
  // The ready message was the only one: no IPC channel left to keep either process alive.
  child.disconnect();
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** Both reference processes on their own new databases; resolves once both answer. */
export async function startReference(options: ReferenceOptions): Promise<RunningReference> {
  const suffix = randomBytes(4).toString('hex');
  const databases = { orders: `ref_orders_${suffix}`, payments: `ref_payments_${suffix}` };
  for (const name of Object.values(databases)) await options.createDatabase(name);
  await migrate(options.postgresUrl(databases.orders), ordersMigrations);
  await migrate(options.postgresUrl(databases.payments), paymentsMigrations);

  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const serviceToken = randomBytes(24).toString('base64url');
  const payments = await spawnReady(
    'payments',
    {
      REF_GRPC_PORT: String(grpcPort),
      REF_DATABASE_URL: options.postgresUrl(databases.payments),
      REF_STRIPE_URL: options.stripeUrl,
      REF_STRIPE_SECRET_KEY: 'sk_test_reference',
      REF_INBOUND_TOKEN: serviceToken,
      REF_STATEMENTS: JSON.stringify(STATEMENTS.payments),
    },
    options.telemetry,
  );
  let orders: ChildProcess;
  try {
    orders = await spawnReady(
      'orders',
      {
        REF_HTTP_PORT: String(httpPort),
        REF_DATABASE_URL: options.postgresUrl(databases.orders),
        REF_PAYMENTS_GRPC_URL: `127.0.0.1:${grpcPort}`,
        REF_PAYMENTS_TOKEN: serviceToken,
        REF_JWT_PUBLIC_KEY: options.jwtPublicKeyPem,
        REF_JWT_ISSUER: options.jwtIssuer,
        REF_JWT_AUDIENCE: options.jwtAudience,
        REF_STATEMENTS: JSON.stringify(STATEMENTS.orders),
      },
      options.telemetry,
    );
  } catch (error) {
    await stopChild(payments);
    throw error;
  }
  return {
    url: `http://127.0.0.1:${httpPort}`,
    pids: [orders.pid!, payments.pid!],
    async stop() {
      await stopChild(orders);
      await stopChild(payments);
    },
  };
}
