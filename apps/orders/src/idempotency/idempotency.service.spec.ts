import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '#testing/database.js';
import { freePort } from '#testing/ports.js';
import { loadOrdersConfig } from '../config.js';
import { databaseOptions } from '../database/database.options.js';
import { IdempotencyRepository } from './idempotency.repository.js';
import { type IdempotentRequest, IdempotencyService } from './idempotency.service.js';
import { ReplayCache } from './replay-cache.js';

const LOCK_TIMEOUT_MS = 500;

/** A real error of a database that cannot be reached: pg connecting to a port nobody serves. */
async function refusedConnection(): Promise<Error> {
  const client = new pg.Client({ host: '127.0.0.1', port: await freePort(), user: 'postgres' });
  try {
    await client.connect();
  } catch (error) {
    return error as Error;
  }
  throw new Error('the connection was expected to be refused');
}

describe(IdempotencyService.name, () => {
  let database: TestDatabase;
  let db: DataSource;
  let service: IdempotencyService;

  beforeAll(async () => {
    database = await createTestDatabase('idempotency');
    const config = loadOrdersConfig({
      ORDERS_DATABASE_URL: database.url,
      IDEMPOTENCY_LOCK_TIMEOUT_MS: String(LOCK_TIMEOUT_MS),
      IDEMPOTENCY_REPLAY_CACHE_MB: '0',
    });
    db = new DataSource(databaseOptions({ ...config.database, poolSize: 2 }));
    await db.initialize();
    await db.runMigrations({ transaction: 'each' });
    service = new IdempotencyService(
      new IdempotencyRepository(db),
      new ReplayCache(config),
      config,
    );
  });

  afterAll(async () => {
    if (db.isInitialized) await db.destroy();
    await database.drop();
  });

  const request = (): IdempotentRequest => ({
    customerId: `cus_${randomUUID()}`,
    key: randomUUID(),
    method: 'POST',
    path: '/api/v1/orders',
    body: { items: [] },
  });

  const keyRow = async ({ customerId, key }: IdempotentRequest) => {
    const rows = await db.query<
      {
        state: string;
        order_id: string | null;
        locked_until: Date | null;
        response_status: number | null;
      }[]
    >(
      `SELECT state, order_id, locked_until, response_status
         FROM idempotency_keys WHERE customer_id = $1 AND key = $2`,
      [customerId, key],
    );
    return rows[0];
  };

  const created = { status: 201, headers: {}, body: '{"id":"x"}' };

  describe('a transient database failure during the work', () => {
    it('is rethrown, never stored, and the key is forgotten when nothing was created', async () => {
      const first = request();
      const refused = await refusedConnection();
      await expect(service.execute(first, () => Promise.reject(refused))).rejects.toBe(refused);
      expect(await keyRow(first)).toBeUndefined();

      const retried = await service.execute(first, () => Promise.resolve(created));
      expect(retried).toEqual({ response: created, replayed: false });
      expect(await keyRow(first)).toMatchObject({ state: 'completed', response_status: 201 });
    });

    it('releases the key with its recovery point, which the retry resumes from', async () => {
      const first = request();
      const orderId = randomUUID();
      const refused = await refusedConnection();
      await expect(
        service.execute(first, async (checkpoint) => {
          // What checkout does: the order and the key's recovery point, in one transaction.
          await db.transaction(async (tx) => {
            await tx.query(
              `INSERT INTO orders (id, customer_id, status, currency, amount, created_at, updated_at)
               VALUES ($1, $2, 'pending_payment', 'usd', 100, now(), now())`,
              [orderId, checkpoint.key.customerId],
            );
            await tx.query(
              'UPDATE idempotency_keys SET order_id = $3 WHERE customer_id = $1 AND key = $2',
              [checkpoint.key.customerId, checkpoint.key.key, orderId],
            );
          });
          throw refused;
        }),
      ).rejects.toBe(refused);
      expect(await keyRow(first)).toMatchObject({
        state: 'in_flight',
        order_id: orderId,
        locked_until: null,
        response_status: null,
      });

      let resumedFrom: string | null = null;
      await service.execute(first, (checkpoint) => {
        resumedFrom = checkpoint.orderId;
        return Promise.resolve(created);
      });
      expect(resumedFrom).toBe(orderId);
    });
  });

  it('a key whose release the outage prevented is taken over once its lock expires', async () => {
    const first = request();
    // The database goes away during the work: the failure and the release both meet it.
    await expect(
      service.execute(first, async () => {
        await db.destroy();
        return db.query('SELECT 1');
      }),
    ).rejects.toThrow(/not yet established|not Connected/);
    await db.initialize();
    expect(await keyRow(first)).toMatchObject({ state: 'in_flight' });

    // Still locked: a retry now is told to come back later, and the work does not run.
    let ran = false;
    const work = () => {
      ran = true;
      return Promise.resolve(created);
    };
    await expect(service.execute(first, work)).rejects.toMatchObject({
      code: 'idempotency_key_in_use',
      retryAfterSeconds: 1,
    });
    expect(ran).toBe(false);

    await new Promise((resolve) => setTimeout(resolve, LOCK_TIMEOUT_MS));
    expect(await service.execute(first, work)).toEqual({ response: created, replayed: false });
    expect(ran).toBe(true);
  });

  it('stores a defect as the key’s final answer (500), as before', async () => {
    const first = request();
    const outcome = await service.execute(first, () => Promise.reject(new TypeError('bug')));
    expect(outcome.response.status).toBe(500);
    expect(await keyRow(first)).toMatchObject({ state: 'completed', response_status: 500 });
  });
});
