import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pg from 'pg';
import { type MigrationTarget, Migrations } from '#common/db/migrations.js';
import { createTestDatabase, type TestDatabase } from '#testing/database.js';
import { freePort } from '#testing/ports.js';
import { migrationTarget as ordersTarget } from '../apps/orders/src/database/database.options.js';
import { migrations as ordersMigrations } from '../apps/orders/src/database/migrations/index.js';
import { startPaymentsApp } from '../apps/payments/src/bootstrap.js';
import { loadPaymentsConfig } from '../apps/payments/src/config.js';
import { migrationTarget as paymentsTarget } from '../apps/payments/src/database/database.options.js';
import { migrations as paymentsMigrations } from '../apps/payments/src/database/migrations/index.js';
import { ServiceProcess } from './support/service-process.js';
import { startTestOrders } from './support/stack.js';
import { waitFor } from './support/wait.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

type Service = 'orders' | 'payments';

const SERVICES: Record<
  Service,
  { target: (url: string) => MigrationTarget; names: string[]; variable: string }
> = {
  orders: {
    target: (url) => ordersTarget({ url, poolSize: 1 }),
    names: ordersMigrations.map((Migration) => new Migration().name),
    variable: 'ORDERS',
  },
  payments: {
    target: (url) => paymentsTarget({ url, poolSize: 1 }),
    names: paymentsMigrations.map((Migration) => new Migration().name),
    variable: 'PAYMENTS',
  },
};

const newest = (service: Service) => SERVICES[service].names.at(-1)!;

let databases: TestDatabase[] = [];
let apps: NestFastifyApplication[] = [];

afterEach(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(databases.map((db) => db.drop()));
  apps = [];
  databases = [];
});

async function database(service: Service): Promise<TestDatabase> {
  const db = await createTestDatabase(`${service}_migrations`);
  databases.push(db);
  return db;
}

/** The previous release's schema: every migration applied but the newest. */
async function previousRelease(service: Service, url: string): Promise<void> {
  const migrations = await Migrations.connect(SERVICES[service].target(url));
  try {
    await migrations.run();
    await migrations.revertLast();
    expect((await migrations.status()).pending).toEqual([newest(service)]);
  } finally {
    await migrations.close();
  }
}

/** How many times the database records each migration. */
async function recorded(url: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const exists = await client.query("SELECT to_regclass('migrations') IS NOT NULL AS exists");
    if (!(exists.rows[0] as { exists: boolean }).exists) return {};
    const { rows } = await client.query<{ name: string; count: number }>(
      'SELECT name, count(*)::int AS count FROM migrations GROUP BY name',
    );
    return Object.fromEntries(rows.map((row) => [row.name, row.count]));
  } finally {
    await client.end();
  }
}

const once = (names: string[]) => Object.fromEntries(names.map((name) => [name, 1]));

async function startPayments(
  databaseUrl: string,
  ports: { http: number; grpc: number },
  env: NodeJS.ProcessEnv = {},
): Promise<NestFastifyApplication> {
  return startPaymentsApp(
    loadPaymentsConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'fatal',
      PAYMENTS_HTTP_PORT: String(ports.http),
      PAYMENTS_GRPC_PORT: String(ports.grpc),
      PAYMENTS_DATABASE_URL: databaseUrl,
      PAYMENTS_DATABASE_POOL_SIZE: '2',
      ...env,
    }),
  );
}

/**
 * Three instances of each service started at the same moment on one database per service, as a
 * fleet's rollout starts them: every start must succeed by itself (no retry hides a lost race).
 */
async function startFleet(ordersUrl: string, paymentsUrl: string): Promise<string[]> {
  const ports = await Promise.all(Array.from({ length: 12 }, () => freePort()));
  const instances = [0, 1, 2].map((i) => ({
    payments: { http: ports[4 * i], grpc: ports[4 * i + 1] },
    orders: { http: ports[4 * i + 2], grpc: ports[4 * i + 3] },
  }));
  const starts = instances.flatMap(({ payments, orders }) => [
    startPayments(paymentsUrl, payments),
    startTestOrders({
      httpPort: orders.http,
      grpcPort: orders.grpc,
      databaseUrl: ordersUrl,
      paymentsUrl: `127.0.0.1:${payments.grpc}`,
      env: { ORDERS_DATABASE_POOL_SIZE: '2' },
    }),
  ]);
  const results = await Promise.allSettled(starts);
  for (const result of results) if (result.status === 'fulfilled') apps.push(result.value);
  expect(
    results.flatMap((result) =>
      result.status === 'rejected' ? [(result.reason as Error).message] : [],
    ),
  ).toEqual([]);
  return instances.flatMap(({ payments, orders }) => [
    `http://127.0.0.1:${payments.http}`,
    `http://127.0.0.1:${orders.http}`,
  ]);
}

/** Waits (bounded) for each instance's readiness to answer 200. */
async function expectAllReady(urls: string[]): Promise<void> {
  await Promise.all(
    urls.map((url) =>
      waitFor(`${url} to be ready`, async () => {
        const status = await fetch(`${url}/health/ready`).then(
          (response) => response.status,
          () => 0, // not listening yet
        );
        return status === 200 || undefined;
      }),
    ),
  );
}

/**
 * Schema migrations as a fleet meets them: instances starting together (each migration applied
 * once, every instance ready), a deploy that runs them as a job (the npm scripts, the advisory
 * lock they share with starting instances, migrate-on-start off), each on its own databases.
 */
describe('migrations with three instances of each service starting together', () => {
  it('on an empty database: all become ready and each migration is recorded once', async () => {
    const [orders, payments] = await Promise.all([database('orders'), database('payments')]);

    await expectAllReady(await startFleet(orders.url, payments.url));

    expect(await recorded(orders.url)).toEqual(once(SERVICES.orders.names));
    expect(await recorded(payments.url)).toEqual(once(SERVICES.payments.names));
  });

  it("on the previous release's schema: all become ready and the newest migration is recorded once", async () => {
    const [orders, payments] = await Promise.all([database('orders'), database('payments')]);
    await Promise.all([
      previousRelease('orders', orders.url),
      previousRelease('payments', payments.url),
    ]);

    await expectAllReady(await startFleet(orders.url, payments.url));

    expect(await recorded(orders.url)).toEqual(once(SERVICES.orders.names));
    expect(await recorded(payments.url)).toEqual(once(SERVICES.payments.names));
  });
});

/** An npm script as npm runs it (the command in package.json), with the environment given. */
async function script(
  name: string,
  env: NodeJS.ProcessEnv,
  whileRunning?: (output: () => string) => Promise<void>,
): Promise<{ code: number | null; output: string }> {
  const scripts = (
    JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts;
  const [command, ...args] = (scripts[name] ?? '').split(' ');
  expect(command).toBe('node');
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    await whileRunning?.(() => output);
    return { code: await exited, output };
  } finally {
    clearTimeout(timer);
  }
}

describe.each(['orders', 'payments'] as const)(
  '%s migrations as an operator runs them',
  (service) => {
    const { names, variable } = SERVICES[service];
    const databaseVariable = `${variable}_DATABASE_URL`;

    it('runs, reverts and shows them against the configured database', async () => {
      const db = await database(service);
      const env = { [databaseVariable]: db.url };

      const run = await script(`migration:run:${service}`, env);
      expect(run).toEqual({
        code: 0,
        output: expect.stringContaining(`applied ${names.join(', ')}`),
      });
      expect(await recorded(db.url)).toEqual(once(names));

      const revert = await script(`migration:revert:${service}`, env);
      expect(revert).toEqual({
        code: 0,
        output: expect.stringContaining(`reverted ${newest(service)}`),
      });
      expect(await recorded(db.url)).toEqual(once(names.slice(0, -1)));

      const shown = await script(`migration:show:${service}`, env);
      expect(shown.code).toBe(0);
      expect(
        shown.output
          .split('\n')
          .filter((line) => line.startsWith(`${service}:`) || line.startsWith('  ')),
      ).toEqual([
        `${service}: ${names.length - 1} applied, 1 pending`,
        ...names.slice(0, -1).map((name) => `  applied  ${name}`),
        `  pending  ${newest(service)}`,
      ]);
    });

    it('waits for the lock a starting instance holds before running them', async () => {
      const db = await database(service);
      const holder = new pg.Client({ connectionString: db.url });
      await holder.connect();
      const { lockKey } = SERVICES[service].target(db.url);
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [lockKey]);
      try {
        const run = await script(
          `migration:run:${service}`,
          { [databaseVariable]: db.url },
          async (output) => {
            await waitFor(
              () => `the job to wait for the lock:\n${output()}`,
              () => output().includes('holds the migrations lock; waiting') || undefined,
            );
            expect(await recorded(db.url)).toEqual({});
            await holder.query('SELECT pg_advisory_unlock($1::bigint)', [lockKey]);
          },
        );
        expect(run.code).toBe(0);
        expect(await recorded(db.url)).toEqual(once(names));
      } finally {
        await holder.end();
      }
    });

    it('with migrate-on-start off, refuses to start while one is pending and starts once the job ran', async () => {
      const db = await database(service);
      await previousRelease(service, db.url);
      const switchedOff = { [`${variable}_MIGRATE_ON_START`]: 'false' };

      const refused = await ServiceProcess.runToExit(service, {
        NODE_ENV: 'test',
        [databaseVariable]: db.url,
        [`${variable}_HTTP_PORT`]: String(await freePort()),
        [`${variable}_GRPC_PORT`]: String(await freePort()),
        ...switchedOff,
      });
      expect(refused.code).toBe(75);
      expect(refused.output).toContain(
        `${newest(service)}) and ${variable}_MIGRATE_ON_START=false`,
      );
      expect(refused.output).toContain(`npm run migration:run:${service}`);
      expect(await recorded(db.url)).toEqual(once(names.slice(0, -1)));

      expect((await script(`migration:run:${service}`, { [databaseVariable]: db.url })).code).toBe(
        0,
      );
      const [http, grpc] = [await freePort(), await freePort()];
      apps.push(
        service === 'orders'
          ? await startTestOrders({
              httpPort: http,
              grpcPort: grpc,
              databaseUrl: db.url,
              paymentsUrl: '127.0.0.1:1',
              env: switchedOff,
            })
          : await startPayments(db.url, { http, grpc }, switchedOff),
      );
      await expectAllReady([`http://127.0.0.1:${http}`]);
    });
  },
);

describe('migration scripts', () => {
  it('exit non-zero when the database cannot be reached or the configuration is invalid', async () => {
    const unreachable = await script('migration:show:orders', {
      ORDERS_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
    });
    expect(unreachable.code).toBe(1);
    expect(unreachable.output).toContain('orders: migration show failed: connect ECONNREFUSED');

    const invalid = await script('migration:run:payments', { PAYMENTS_DATABASE_URL: 'not-a-url' });
    expect(invalid.code).toBe(78);
    expect(invalid.output).toContain('PAYMENTS_DATABASE_URL: must be a postgres:// URL');
  });
});
