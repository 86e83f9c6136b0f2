import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestDatabase {
  url: string;
  name: string;
  /** Drops the database, ending any connections still open to it. */
  drop(): Promise<void>;
}

/**
 * Creates an empty database with a unique name on the test server (see global-setup.ts), or on
 * the server of `adminUrl` (a test's own, e.g. one it restarts), so test files stay independent
 * of each other and can run in parallel.
 */
export async function createTestDatabase(
  prefix: string,
  adminUrl = process.env.TEST_PG_ADMIN_URL,
): Promise<TestDatabase> {
  // The name goes into SQL unquoted and must fit PostgreSQL's 63-byte identifier limit.
  if (!/^[a-z][a-z0-9_]{0,30}$/.test(prefix)) {
    throw new Error(`Invalid test database prefix ${JSON.stringify(prefix)}`);
  }
  if (!adminUrl) {
    throw new Error('TEST_PG_ADMIN_URL is not set; run the tests through jest (its globalSetup).');
  }
  const name = `${prefix}_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));

  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    name,
    drop: () =>
      withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

async function withAdmin(
  adminUrl: string,
  work: (client: pg.Client) => Promise<unknown>,
): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}
