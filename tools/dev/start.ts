// `npm start`: PostgreSQL, the Stripe stand-in and both services for local use, in one command.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Logger } from '@nestjs/common';
import { DEFAULT_PORTS, DEV_WEBHOOK_SECRET } from '#common/config/defaults.js';
import { StripeStandIn } from '../stripe-stand-in/server.js';
import { STRIPE_WEBHOOK_EVENTS } from '#contracts/stripe-events.js';
import { createDatabaseIfMissing, startEmbeddedPostgres } from '#testing/embedded-postgres.js';
import { launcherToken } from './launcher-token.js';
import { runSupervised, SIGNALS } from './supervised.js';

const DEFAULT_POSTGRES_PORT = 54329;
const READY_TIMEOUT_MS = 60_000;
const KILL_AFTER_MS = 5_000;
const DEMO_CUSTOMER = 'demo-customer';

const fromRoot = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
const ROOT = fromRoot('');
const DATA_DIR = fromRoot('.data/postgres');

/** Empty counts as unset, as in the services' configuration. */
const setting = (name: string): string | undefined => process.env[name] || undefined;
const portSetting = (name: string, fallback: number) => Number(setting(name) ?? fallback);

const say = (message: string) => console.log(`[dev] ${message}`);

/** Cleanups of what has been started, run last-started first. */
const cleanups: { name: string; run: () => Promise<void> }[] = [];
let stopping: Promise<void> | undefined;

function shutdown(exitCode: number): Promise<void> {
  stopping ??= (async () => {
    for (const { name, run } of cleanups.reverse()) {
      await run().catch((error: unknown) => console.error(`[dev] stopping ${name} failed:`, error));
    }
    process.exit(exitCode);
  })();
  return stopping;
}

async function main(): Promise<void> {
  for (const signal of SIGNALS) {
    process.on(signal, () => {
      if (!stopping) say('stopping');
      void shutdown(0);
    });
  }

  let ordersDatabaseUrl = setting('ORDERS_DATABASE_URL');
  let paymentsDatabaseUrl = setting('PAYMENTS_DATABASE_URL');
  let databaseInfo = 'ORDERS_DATABASE_URL and PAYMENTS_DATABASE_URL';
  if (!ordersDatabaseUrl || !paymentsDatabaseUrl) {
    const port = portSetting('DEV_POSTGRES_PORT', DEFAULT_POSTGRES_PORT);
    say(`starting PostgreSQL on port ${port} (DEV_POSTGRES_PORT), data in ${DATA_DIR}`);
    const postgres = await startEmbeddedPostgres({ dataDir: DATA_DIR, port });
    cleanups.push({ name: 'PostgreSQL', run: () => postgres.stop() });
    for (const database of ['orders', 'payments']) {
      await createDatabaseIfMissing(postgres.url(), database);
    }
    ordersDatabaseUrl ??= postgres.url('orders');
    paymentsDatabaseUrl ??= postgres.url('payments');
    databaseInfo = `embedded PostgreSQL at ${postgres.url()}, data in ${DATA_DIR}`;
  }

  const ports = {
    ordersHttp: portSetting('ORDERS_HTTP_PORT', DEFAULT_PORTS.ordersHttp),
    ordersGrpc: portSetting('ORDERS_GRPC_PORT', DEFAULT_PORTS.ordersGrpc),
    paymentsHttp: portSetting('PAYMENTS_HTTP_PORT', DEFAULT_PORTS.paymentsHttp),
    paymentsGrpc: portSetting('PAYMENTS_GRPC_PORT', DEFAULT_PORTS.paymentsGrpc),
  };
  const stripeEnv: Record<string, string> = {};
  let stripeInfo = 'the real Stripe API (STRIPE_SECRET_KEY is set)';
  if (!setting('STRIPE_SECRET_KEY')) {
    const port = portSetting('STRIPE_STAND_IN_PORT', DEFAULT_PORTS.stripeStandIn);
    say(`starting the offline Stripe stand-in on port ${port} (STRIPE_STAND_IN_PORT)`);
    // The stand-in delivers its signed events to payments, as Stripe would.
    const standIn = await StripeStandIn.start({
      port,
      webhook: {
        url: `http://127.0.0.1:${ports.paymentsHttp}/webhooks/stripe`,
        secret: setting('STRIPE_WEBHOOK_SECRET')?.split(',')[0]?.trim() ?? DEV_WEBHOOK_SECRET,
        enabledEvents: STRIPE_WEBHOOK_EVENTS,
      },
    });
    cleanups.push({ name: 'the Stripe stand-in', run: () => standIn.stop() });
    stripeEnv.STRIPE_API_URL = standIn.url;
    stripeInfo = `offline stand-in at ${standIn.url}`;
  }

  startService('payments', {
    PAYMENTS_DATABASE_URL: paymentsDatabaseUrl,
    PAYMENTS_HTTP_PORT: String(ports.paymentsHttp),
    PAYMENTS_GRPC_PORT: String(ports.paymentsGrpc),
    ORDERS_GRPC_URL: setting('ORDERS_GRPC_URL') ?? `127.0.0.1:${ports.ordersGrpc}`,
    ...stripeEnv,
  });
  const ordersEnv = {
    ORDERS_DATABASE_URL: ordersDatabaseUrl,
    ORDERS_HTTP_PORT: String(ports.ordersHttp),
    ORDERS_GRPC_PORT: String(ports.ordersGrpc),
    PAYMENTS_GRPC_URL: setting('PAYMENTS_GRPC_URL') ?? `127.0.0.1:${ports.paymentsGrpc}`,
  };
  startService('orders', ordersEnv);
  await Promise.all([
    waitUntilReady('payments', ports.paymentsHttp),
    waitUntilReady('orders', ports.ordersHttp),
  ]);

  // orders' Authenticator checks the token here and would log its verdict; the output says it.
  Logger.overrideLogger(['error', 'fatal']);
  const storefront = await launcherToken(serviceEnvironment(ordersEnv), DEMO_CUSTOMER);
  const orders = `http://localhost:${ports.ordersHttp}/api/v1/orders`;
  const auth = `-H "Authorization: Bearer ${'token' in storefront ? storefront.token : '$TOKEN'}"`;
  const tokenInfo =
    'token' in storefront
      ? `Token for customer "${DEMO_CUSTOMER}" (24 h; others: npm run -s dev:token -- <customer-id>,
  an admin: npm run -s dev:token -- --admin <admin-id>):
  ${storefront.token}`
      : `No development token: ${storefront.instructions}
  The commands below read it from $TOKEN.`;
  // As orders decides it (apps/orders/src/config.ts): on unless production, or when asked.
  const docs = setting('API_DOCS_ENABLED') ?? String(setting('NODE_ENV') !== 'production');
  const docsInfo =
    docs === 'true' ? `\n  API docs         http://localhost:${ports.ordersHttp}/api/docs` : '';
  console.log(`
  Orders API       ${orders}${docsInfo}
  Payments health  http://localhost:${ports.paymentsHttp}/health/ready
  Stripe           ${stripeInfo}
  Database         ${databaseInfo}

  ${tokenInfo}

  Create an order:
  curl -sS -X POST ${orders} ${auth} -H 'Content-Type: application/json' -H "Idempotency-Key: $(uuidgen 2>/dev/null || date +%s%N)" -d '{"currency":"usd","items":[{"sku":"SKU-1","name":"T-shirt","quantity":2,"unitAmount":1500}]}'

  List your orders:
  curl -sS ${orders} ${auth}

  Ctrl-C stops everything.
`);
}

/** A service's environment: the launcher's own, development unless it says otherwise. */
function serviceEnvironment(serviceEnv: Record<string, string>): NodeJS.ProcessEnv {
  return { NODE_ENV: 'development', ...process.env, ...serviceEnv };
}

function startService(name: string, serviceEnv: Record<string, string>): void {
  const child = spawn(
    process.execPath,
    [
      '--import',
      fromRoot('dist/libs/observability/src/register.js'),
      fromRoot(`dist/apps/${name}/src/main.js`),
    ],
    {
      cwd: ROOT,
      env: serviceEnvironment(serviceEnv),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  prefixLines(child.stdout, process.stdout, `[${name}] `);
  prefixLines(child.stderr, process.stderr, `[${name}] `);
  child.on('error', (error) => {
    console.error(`[dev] ${name} could not be started:`, error);
    void shutdown(1);
  });
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`[dev] ${name} exited unexpectedly (${signal ?? `exit code ${code}`})`);
    void shutdown(1);
  });
  cleanups.push({ name, run: () => stopChild(name, child) });
}

function prefixLines(from: Readable, to: Writable, prefix: string): void {
  createInterface({ input: from, crlfDelay: Infinity }).on('line', (line) => {
    to.write(`${prefix}${line}\n`);
  });
}

async function stopChild(name: string, child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timeout = new AbortController();
  const stopped = await Promise.race([
    exited.then(() => true),
    sleep(KILL_AFTER_MS, false, { signal: timeout.signal }),
  ]);
  timeout.abort();
  if (!stopped) {
    say(`${name} did not stop within ${KILL_AFTER_MS / 1000} s, killing it`);
    child.kill('SIGKILL');
    await exited;
  }
}

async function waitUntilReady(name: string, port: number): Promise<void> {
  const url = `http://127.0.0.1:${port}/health/ready`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last: string;
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      last = `HTTP ${response.status} ${await response.text()}`;
      if (response.status === 200) return;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      throw new Error(`${name} was not ready within ${READY_TIMEOUT_MS / 1000} s: ${url}: ${last}`);
    }
    await sleep(250);
  }
}

await runSupervised(() =>
  main().catch((error: unknown) => {
    console.error(`[dev] ${error instanceof Error ? error.message : String(error)}`);
    return shutdown(1);
  }),
);
