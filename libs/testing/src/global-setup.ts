import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { registerHooks } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestGlobals } from './global-teardown.js';

// Jest requires this file as CommonJS without applying moduleNameMapper (jestjs/jest#11644), so
// the `.js` specifiers of the TypeScript sources would not resolve; map them to the `.ts` files as
// the mapper does for the tests. The modules are imported only once this is in place.
registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (!/^\.\.?\/.*\.js$/.test(specifier)) throw error;
      return nextResolve(specifier.replace(/\.js$/, '.ts'), context);
    }
  },
});

/**
 * Provides the PostgreSQL server the tests create their databases on, as TEST_PG_ADMIN_URL: the
 * server of ORDERS_DATABASE_URL when both database variables are set, else a throwaway embedded one.
 */
export default async function globalSetup(): Promise<void> {
  const { ORDERS_DATABASE_URL, PAYMENTS_DATABASE_URL } = process.env;
  if (ORDERS_DATABASE_URL && PAYMENTS_DATABASE_URL) {
    const adminUrl = new URL(ORDERS_DATABASE_URL);
    adminUrl.pathname = '/postgres';
    await checkConnects(adminUrl.href);
    process.env.TEST_PG_ADMIN_URL = adminUrl.href;
    return;
  }

  const [{ startEmbeddedPostgres }, { freePort }] = await Promise.all([
    import('./embedded-postgres.js'),
    import('./ports.js'),
  ]);
  const dir = await mkdtemp(join(tmpdir(), 'orders-payments-test-pg-'));
  // When the tests run as root, PostgreSQL runs as the `postgres` user, which must get through.
  await chmod(dir, 0o711);
  const server = await startEmbeddedPostgres({
    dataDir: join(dir, 'data'),
    port: await freePort(),
    throwaway: true,
  }).catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  (globalThis as TestGlobals).stopTestPostgres = async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
  process.env.TEST_PG_ADMIN_URL = server.url();
}

async function checkConnects(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    const shown = new URL(adminUrl);
    if (shown.password) shown.password = '***';
    throw new Error(
      `The tests use the PostgreSQL server of ORDERS_DATABASE_URL, but connecting to it as ` +
        `${shown.href} failed: ${error instanceof Error ? error.message : String(error)}. ` +
        'Fix ORDERS_DATABASE_URL, or unset both ORDERS_DATABASE_URL and PAYMENTS_DATABASE_URL ' +
        'to test against an embedded PostgreSQL.',
      { cause: error },
    );
  } finally {
    await client.end().catch(() => {});
  }
}
