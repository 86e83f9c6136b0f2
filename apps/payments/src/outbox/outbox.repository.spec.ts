import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createMigratedDatabase, type MigratedDatabase } from '#testing/migrated-database.js';
import { migrationTarget } from '../database/database.options.js';
import { OutboxRepository } from './outbox.repository.js';
import { waitFor } from '../../../../test/support/wait.js';

/**
 * The relay's claims on payments' real database: a batch is leased to one relay in one statement,
 * and its outcomes recorded in one more. No relay runs here: only the test claims.
 */
describe(OutboxRepository.name, () => {
  let database: MigratedDatabase;
  let db: pg.Pool;
  let outbox: OutboxRepository;

  beforeAll(async () => {
    database = await createMigratedDatabase('outbox_repo', (url) =>
      migrationTarget({ url, poolSize: 4 }),
    );
    db = new pg.Pool({ connectionString: database.url, max: 3 });
    outbox = new OutboxRepository(database.dataSource);
  });

  afterAll(async () => {
    await db.end();
    await database?.drop();
  });

  beforeEach(() => db.query('DELETE FROM outbox'));

  async function queue(count: number): Promise<string[]> {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO outbox (payment_id, payload)
       SELECT gen_random_uuid(), jsonb_build_object('orderId', $2::text, 'paymentVersion', n)
         FROM generate_series(1, $1) AS n
       RETURNING id`,
      [count, randomUUID()],
    );
    return rows.map((row) => String(row.id));
  }

  const row = async (id: string) =>
    (
      await db.query<{
        delivered: boolean;
        attempts: number;
        refusals: number;
        parked: boolean;
        last_error: string | null;
        due_in_ms: number;
      }>(
        `SELECT delivered_at IS NOT NULL AS delivered, attempts, refusals,
                parked_at IS NOT NULL AS parked, last_error,
                (extract(epoch FROM next_attempt_at - now()) * 1000)::float8 AS due_in_ms
           FROM outbox WHERE id = $1`,
        [id],
      )
    ).rows[0];

  it('leases each due message to one claim only, until the lease runs out', async () => {
    const ids = await queue(6);
    const [first, second] = await Promise.all([
      outbox.claimDue(4, 60_000),
      outbox.claimDue(4, 60_000),
    ]);
    const claimed = [...first, ...second].map((m) => m.id);
    expect(claimed.sort()).toEqual([...ids].sort());
    expect(new Set(claimed).size).toBe(ids.length);
    expect(await outbox.claimDue(10, 60_000)).toEqual([]);
  });

  it('hands a message out again once its lease has run out (its relay died mid-delivery)', async () => {
    const [id] = await queue(1);
    expect((await outbox.claimDue(10, 50)).map((m) => m.id)).toEqual([id]);
    expect(await outbox.claimDue(10, 50)).toEqual([]);
    const again = await waitFor('the lease to run out', async () => {
      const claimed = await outbox.claimDue(10, 50);
      return claimed.length > 0 ? claimed : undefined;
    });
    expect(again.map((m) => m.id)).toEqual([id]);
    // A lease is not an attempt: only a recorded failure counts one.
    expect(again[0].attempts).toBe(0);
  });

  it('records a batch: delivered ones are done, failed ones count an attempt and back off', async () => {
    const [delivered, failed] = await queue(2);
    await outbox.claimDue(10, 60_000);
    await outbox.settle([
      { id: delivered, error: null, retryInMs: 0, refused: false, park: false },
      {
        id: failed,
        error: 'gRPC 14 UNAVAILABLE: orders unavailable',
        retryInMs: 30_000,
        refused: false,
        park: false,
      },
    ]);
    expect(await row(delivered)).toMatchObject({ delivered: true, attempts: 0, last_error: null });
    const retry = await row(failed);
    expect(retry).toMatchObject({
      delivered: false,
      attempts: 1,
      refusals: 0,
      parked: false,
      last_error: 'gRPC 14 UNAVAILABLE: orders unavailable',
    });
    expect(retry.due_in_ms).toBeGreaterThan(25_000);
    expect(retry.due_in_ms).toBeLessThanOrEqual(30_000);
    expect(await outbox.backlog()).toMatchObject({ pending: 1, parked: 0 });
  });

  it('parks a refused message: never claimed again, counted apart, until replayed', async () => {
    const [refused, parked] = await queue(2);
    await outbox.claimDue(10, 60_000);
    const reason = 'gRPC 5 NOT_FOUND: Order x does not exist.';
    await outbox.settle([
      { id: refused, error: reason, retryInMs: 0, refused: true, park: false },
      { id: parked, error: reason, retryInMs: 0, refused: true, park: true },
    ]);
    expect(await row(refused)).toMatchObject({ attempts: 1, refusals: 1, parked: false });
    expect(await row(parked)).toMatchObject({ attempts: 1, refusals: 1, parked: true });
    expect((await outbox.claimDue(10, 60_000)).map((m) => m.id)).toEqual([refused]);
    expect(await outbox.backlog()).toMatchObject({ pending: 1, parked: 1 });
    expect(await outbox.parked()).toEqual([expect.objectContaining({ id: parked, reason })]);

    const replayed = await outbox.replay();
    expect(replayed.map((n) => n.id)).toEqual([parked]);
    expect(await row(parked)).toMatchObject({ attempts: 0, refusals: 0, parked: false });
    expect((await outbox.claimDue(10, 60_000)).map((m) => m.id)).toEqual([parked]);
    expect(await outbox.backlog()).toMatchObject({ pending: 2, parked: 0 });
  });
});
