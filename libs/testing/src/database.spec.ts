import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createTestDatabase } from './database.js';

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('createTestDatabase', () => {
  it('creates distinct, empty, connectable databases and drops them', async () => {
    const first = await createTestDatabase('sample');
    const second = await createTestDatabase('sample');
    try {
      expect(first.name).toMatch(/^sample_test_/);
      expect(second.name).not.toBe(first.name);
      expect(second.url).not.toBe(first.url);

      const [{ db }] = await query<{ db: string }>(first.url, 'SELECT current_database() AS db');
      expect(db).toBe(first.name);
      const tables = await query(
        first.url,
        "SELECT 1 FROM information_schema.tables WHERE table_schema = 'public'",
      );
      expect(tables).toEqual([]);

      // An open connection must not keep drop() from succeeding.
      const lingering = new pg.Client({ connectionString: first.url });
      lingering.on('error', () => {});
      await lingering.connect();
      await first.drop();
      await lingering.end().catch(() => {});
    } finally {
      await second.drop();
    }

    const adminUrl = process.env.TEST_PG_ADMIN_URL!;
    const left = await query(
      adminUrl,
      `SELECT 1 FROM pg_database WHERE datname IN ('${first.name}', '${second.name}')`,
    );
    expect(left).toEqual([]);
  });

  it('rejects prefixes that are not plain identifiers', async () => {
    await expect(createTestDatabase('Bad-Prefix')).rejects.toThrow('Invalid test database prefix');
  });
});
