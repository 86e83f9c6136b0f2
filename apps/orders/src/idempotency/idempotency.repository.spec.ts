import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { createMigratedDatabase, type MigratedDatabase } from '#testing/migrated-database.js';
import { migrationTarget } from '../database/database.options.js';
import { Order } from '../orders/order.entity.js';
import { OrdersRepository } from '../orders/orders.repository.js';
import { IdempotencyRecord } from './idempotency-record.entity.js';
import { IdempotencyRepository, type KeyRef } from './idempotency.repository.js';

const LOCK_MS = 60_000;
const RETENTION_HOURS = 24;

/**
 * The idempotency key statements on a real, migrated PostgreSQL: each decision about a key is one
 * statement, so these tests race them against each other where the database is what settles it.
 */
describe(IdempotencyRepository.name, () => {
  let database: MigratedDatabase;
  let db: DataSource;
  let keys: IdempotencyRepository;

  beforeAll(async () => {
    database = await createMigratedDatabase('idempotency_repository', (url) =>
      migrationTarget({ url, poolSize: 6 }),
    );
    db = database.dataSource;
    keys = new IdempotencyRepository(db);
  });

  afterAll(() => database?.drop());

  // deleteExpired sweeps the whole table: each test starts from an empty one.
  beforeEach(() => db.query('TRUNCATE idempotency_keys, orders CASCADE'));

  const newKey = (): KeyRef => ({ customerId: `cus_${randomUUID()}`, key: randomUUID() });
  const claim = (ref: KeyRef, { lockMs = LOCK_MS, retentionHours = RETENTION_HOURS } = {}) =>
    keys.insertOrFind(ref, 'fingerprint', lockMs, retentionHours);
  const response = { status: 201, headers: { location: '/api/v1/orders/1' }, body: '{"id":"1"}' };

  /** Gives the key a recovery point the way checkout does: with the order's own insert. */
  async function createOrderFor(ref: KeyRef): Promise<string> {
    const at = new Date();
    const order = Object.assign(new Order(), {
      id: randomUUID(),
      customerId: ref.customerId,
      status: 'pending_payment',
      currency: 'usd',
      amount: 100,
      items: [],
      createdAt: at,
      updatedAt: at,
    });
    await new OrdersRepository(db).insert(order, ref);
    return order.id;
  }

  describe('insertOrFind', () => {
    it('inserts a new key locked for its request, then finds it as it stands', async () => {
      const ref = newKey();
      const first = await claim(ref);
      expect(first).toMatchObject({ inserted: true, expired: false });
      expect(first?.record).toBeInstanceOf(IdempotencyRecord);
      expect(first?.record).toMatchObject({
        ...ref,
        fingerprint: 'fingerprint',
        state: 'in_flight',
        orderId: null,
        responseStatus: null,
      });
      const { createdAt, lockedUntil, expiresAt } = first!.record;
      expect(lockedUntil!.getTime() - createdAt.getTime()).toBe(LOCK_MS);
      expect(expiresAt.getTime() - createdAt.getTime()).toBe(RETENTION_HOURS * 3_600_000);

      expect(await claim(ref)).toEqual({ record: first!.record, inserted: false, expired: false });
    });

    it('lets exactly one of many concurrent requests insert a key', async () => {
      const ref = newKey();
      const claims = await Promise.all(Array.from({ length: 6 }, () => claim(ref)));
      // A loser either finds the winner's key or, committed after its snapshot, nothing yet.
      expect(claims.filter((c) => c?.inserted)).toHaveLength(1);
    });

    it('tells an expired key apart, which deleteIfExpired then removes', async () => {
      const live = newKey();
      await claim(live);
      await keys.deleteIfExpired(live);
      expect(await claim(live)).toMatchObject({ inserted: false, expired: false });

      const old = newKey();
      await claim(old, { retentionHours: 0 });
      expect(await claim(old)).toMatchObject({ inserted: false, expired: true });
      await keys.deleteIfExpired(old);
      expect(await claim(old)).toMatchObject({ inserted: true });
    });
  });

  describe('takeOver', () => {
    it('takes an in-flight key only once its lock has run out, and locks it again', async () => {
      const held = newKey();
      await claim(held);
      expect(await keys.takeOver(held, LOCK_MS)).toBeUndefined();

      const abandoned = newKey();
      await claim(abandoned, { lockMs: 0 });
      const taken = await keys.takeOver(abandoned, LOCK_MS);
      expect(taken).toMatchObject({ ...abandoned, state: 'in_flight' });
      expect(taken!.lockedUntil!.getTime()).toBeGreaterThan(Date.now() + LOCK_MS / 2);
      expect(await keys.takeOver(abandoned, LOCK_MS)).toBeUndefined();
    });

    it('never takes a completed or an expired key', async () => {
      const completed = newKey();
      await claim(completed, { lockMs: 0 });
      await keys.complete(completed, response);
      expect(await keys.takeOver(completed, LOCK_MS)).toBeUndefined();

      const expired = newKey();
      await claim(expired, { lockMs: 0, retentionHours: 0 });
      expect(await keys.takeOver(expired, LOCK_MS)).toBeUndefined();
    });
  });

  it('stores the final response, which the key then answers with', async () => {
    const ref = newKey();
    await claim(ref);
    await keys.complete(ref, response);
    expect((await claim(ref))?.record).toMatchObject({
      state: 'completed',
      lockedUntil: null,
      responseStatus: response.status,
      responseHeaders: response.headers,
      responseBody: response.body,
    });
  });

  describe('release', () => {
    it('forgets an in-flight key that created nothing', async () => {
      const ref = newKey();
      await claim(ref);
      await keys.release(ref);
      expect(await claim(ref)).toMatchObject({ inserted: true });
    });

    it('keeps a key with a recovery point, unlocked, for the retry to take over', async () => {
      const ref = newKey();
      await claim(ref);
      const orderId = await createOrderFor(ref);
      await keys.release(ref);
      expect((await claim(ref))?.record).toMatchObject({
        state: 'in_flight',
        orderId,
        lockedUntil: null,
      });
      expect((await keys.takeOver(ref, LOCK_MS))?.orderId).toBe(orderId);
    });

    it('leaves a completed key as it is', async () => {
      const ref = newKey();
      await claim(ref);
      await keys.complete(ref, response);
      await keys.release(ref);
      expect((await claim(ref))?.record).toMatchObject({ state: 'completed', responseStatus: 201 });
    });
  });

  it('deletes expired keys in batches and counts them, sparing live ones', async () => {
    const expired = [newKey(), newKey(), newKey()];
    for (const ref of expired) await claim(ref, { retentionHours: 0 });
    const live = newKey();
    await claim(live);

    expect(await keys.deleteExpired(2)).toBe(2);
    expect(await keys.deleteExpired(2)).toBe(1);
    expect(await keys.deleteExpired(2)).toBe(0);
    for (const ref of expired) expect(await claim(ref)).toMatchObject({ inserted: true });
    expect(await claim(live)).toMatchObject({ inserted: false });
  });
});
