import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CannotExecuteNotConnectedError, DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '#testing/database.js';
import { queryPrepared } from './typeorm.js';

/**
 * queryPrepared reaches into TypeORM's internals (a query runner's `databaseConnection`, the pg
 * driver's `master` pool), which no public type promises: these pin that reach, so an upgrade
 * that moves them fails here rather than in production.
 */
describe(queryPrepared.name, () => {
  let database: TestDatabase;
  let dataSource: DataSource;

  const BACKEND = { name: 'test-backend-pid', text: 'SELECT pg_backend_pid() AS pid' };
  const COUNT = { name: 'test-count-notes', text: 'SELECT count(*)::int AS n FROM notes' };

  const prepared = async () =>
    (await dataSource.query<{ name: string }[]>('SELECT name FROM pg_prepared_statements')).map(
      (row) => row.name,
    );

  beforeAll(async () => {
    database = await createTestDatabase('query_prepared');
    // One connection: what the pool ran on is the connection a later query inspects.
    dataSource = await new DataSource({
      type: 'postgres',
      url: database.url,
      extra: { max: 1 },
    }).initialize();
    await dataSource.query('CREATE TABLE notes (id int)');
  });

  afterAll(async () => {
    if (dataSource?.isInitialized) await dataSource.destroy();
    await database?.drop();
  });

  it('runs a named prepared statement on the pool outside a transaction', async () => {
    const [row] = await queryPrepared<{ pid: number }>(dataSource.manager, BACKEND, []);
    expect(row?.pid).toEqual(expect.any(Number));
    expect(await prepared()).toContain(BACKEND.name);
  });

  it("runs on the transaction's own connection inside one", async () => {
    await dataSource.transaction(async (tx) => {
      await tx.query('INSERT INTO notes VALUES (1)');
      const [own] = await tx.query<{ pid: number }[]>('SELECT pg_backend_pid() AS pid');
      expect(await queryPrepared(tx, BACKEND, [])).toEqual([own]);
      // The uncommitted row is visible only on the transaction's connection.
      expect(await queryPrepared(tx, COUNT, [])).toEqual([{ n: 1 }]);
      await tx.query('DELETE FROM notes');
    });
  });

  it('connects a query runner that has not connected yet', async () => {
    const runner = dataSource.createQueryRunner();
    try {
      const [row] = await queryPrepared<{ pid: number }>(runner.manager, BACKEND, []);
      const [own] = (await runner.query('SELECT pg_backend_pid() AS pid')) as { pid: number }[];
      expect(own?.pid).toEqual(expect.any(Number));
      expect(row).toEqual(own);
    } finally {
      await runner.release();
    }
  });

  it('refuses as TypeORM does once the data source is closed', async () => {
    const closing = await new DataSource({ type: 'postgres', url: database.url }).initialize();
    await closing.destroy();
    await expect(queryPrepared(closing.manager, BACKEND, [])).rejects.toBeInstanceOf(
      CannotExecuteNotConnectedError,
    );
  });
});
