import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { createMigratedDatabase, type MigratedDatabase } from '#testing/migrated-database.js';
import { migrationTarget } from '../database/database.options.js';
import { IdempotencyRepository } from '../idempotency/idempotency.repository.js';
import { OrderItem } from './order-item.entity.js';
import { Order } from './order.entity.js';
import { OrdersRepository } from './orders.repository.js';

const HOUR_MS = 3_600_000;
const hoursAgo = (hours: number) => new Date(Date.now() - hours * HOUR_MS);

/**
 * The orders statements on a real, migrated PostgreSQL: what each one writes and reads back, the
 * row lock that orders concurrent changes, and the claims that reconciliation takes.
 */
describe(OrdersRepository.name, () => {
  let database: MigratedDatabase;
  let db: DataSource;
  let orders: OrdersRepository;

  beforeAll(async () => {
    database = await createMigratedDatabase('orders_repository', (url) =>
      migrationTarget({ url, poolSize: 4 }),
    );
    db = database.dataSource;
    orders = new OrdersRepository(db);
  });

  afterAll(() => database?.drop());

  // The claims look at every order: each test starts from an empty table.
  beforeEach(() => db.query('TRUNCATE orders, idempotency_keys CASCADE'));

  /** A new order as checkout builds it, with two items. */
  function newOrder(customerId = `cus_${randomUUID()}`, at = new Date()): Order {
    const id = randomUUID();
    const items = [
      { position: 0, sku: 'SKU-A', name: 'Mug', quantity: 2, unitAmount: 1250 },
      { position: 1, sku: 'SKU-B', name: 'Tea', quantity: 1, unitAmount: 499 },
    ].map((item) => Object.assign(new OrderItem(), { orderId: id, ...item }));
    return Object.assign(new Order(), {
      id,
      customerId,
      status: 'pending_payment',
      currency: 'usd',
      amount: 2999,
      items,
      createdAt: at,
      updatedAt: at,
    });
  }

  const inserted = async (order = newOrder()) => {
    await orders.insert(order);
    return order;
  };

  const attachPayment = (orderId: string, paymentVersion = '1') =>
    orders.attachPayment(
      orderId,
      {
        paymentId: randomUUID(),
        paymentStatus: 'requires_payment_method',
        paymentClientSecret: 'pi_secret',
        paymentVersion,
      },
      new Date(),
      'payment_update',
    );

  const history = (orderId: string) =>
    db.query<{ from_status: string; to_status: string; payment_version: string; source: string }[]>(
      `SELECT from_status, to_status, payment_version, source
         FROM order_status_history WHERE order_id = $1 ORDER BY id`,
      [orderId],
    );

  /** Sets columns the repository only changes through a decision, to stage a test's rows. */
  const stage = (orderId: string, set: string, values: unknown[] = []) =>
    db.query(`UPDATE orders SET ${set} WHERE id = $1`, [orderId, ...values]);

  describe('insert and the reads', () => {
    it('reads back the order with its items in their positions and its amounts as numbers', async () => {
      const order = await inserted();
      const read = await orders.findById(order.id);
      expect(read).toBeInstanceOf(Order);
      expect(read).toEqual({
        ...order,
        paymentId: null,
        paymentStatus: null,
        paymentClientSecret: null,
        paymentVersion: '0',
        amountRefunded: 0,
        paymentDisputed: false,
        paymentFailureCode: null,
        reconcileAfter: null,
        reconcileAttempts: 0,
      });
      expect(read?.items[0]).toBeInstanceOf(OrderItem);
    });

    it('records the idempotency key’s recovery point in the same statement', async () => {
      const keys = new IdempotencyRepository(db);
      const key = { customerId: `cus_${randomUUID()}`, key: randomUUID() };
      await keys.insertOrFind(key, 'fingerprint', 60_000, 24);
      const order = newOrder(key.customerId);
      await orders.insert(order, key);
      const found = await keys.insertOrFind(key, 'fingerprint', 60_000, 24);
      expect(found?.record.orderId).toBe(order.id);
    });

    it('finds an order for its owner only, and none that does not exist', async () => {
      const order = await inserted();
      expect((await orders.findForCustomer(order.id, order.customerId))?.id).toBe(order.id);
      expect(await orders.findForCustomer(order.id, 'cus_someone_else')).toBeNull();
      expect((await orders.findInScope(order.id, { customerId: order.customerId }))?.id).toBe(
        order.id,
      );
      expect(await orders.findInScope(order.id, { customerId: 'cus_someone_else' })).toBeNull();
      expect((await orders.findInScope(order.id, { anyCustomer: true }))?.id).toBe(order.id);
      expect(await orders.findById(randomUUID())).toBeNull();
    });
  });

  describe('listForCustomer', () => {
    it('pages a customer’s orders newest first, ties broken by id, each with its items', async () => {
      const customerId = `cus_${randomUUID()}`;
      const now = Date.now();
      const created = [];
      for (const ageMs of [3000, 2000, 2000, 1000]) {
        created.push(await inserted(newOrder(customerId, new Date(now - ageMs))));
      }
      await inserted(newOrder(`cus_${randomUUID()}`));
      const [older, tieA, tieB, newest] = created;
      const ties = [tieA, tieB].sort((a, b) => b.id.localeCompare(a.id));
      const expected = [newest, ...ties, older].map((o) => o.id);

      const first = await orders.listForCustomer(customerId, 2);
      expect(first.map((o) => o.id)).toEqual(expected.slice(0, 2));
      const last = first[1];
      const second = await orders.listForCustomer(customerId, 10, {
        createdAt: last.createdAt,
        id: last.id,
      });
      expect(second.map((o) => o.id)).toEqual(expected.slice(2));
      expect(second.at(-1)).toEqual(await orders.findById(older.id));
      expect(second.at(-1)?.items.map((item) => item.position)).toEqual([0, 1]);
    });

    it('answers an empty page for a customer without orders or past the last one', async () => {
      expect(await orders.listForCustomer(`cus_${randomUUID()}`, 10)).toEqual([]);
      const order = await inserted();
      expect(await orders.listForCustomer(order.customerId, 10, order)).toEqual([]);
    });
  });

  describe('attachPayment', () => {
    it('moves a pending order to awaiting_payment with its history row, once', async () => {
      const order = await inserted();
      expect(await attachPayment(order.id, '3')).toBe(true);
      expect(await orders.findById(order.id)).toMatchObject({
        status: 'awaiting_payment',
        paymentStatus: 'requires_payment_method',
        paymentClientSecret: 'pi_secret',
        paymentVersion: '3',
      });
      expect(await history(order.id)).toEqual([
        {
          from_status: 'pending_payment',
          to_status: 'awaiting_payment',
          payment_version: '3',
          source: 'payment_update',
        },
      ]);

      expect(await attachPayment(order.id)).toBe(false);
      expect(await history(order.id)).toHaveLength(1);
    });

    it('leaves an order that is no longer pending alone', async () => {
      const order = await inserted();
      await stage(order.id, "status = 'canceled'");
      expect(await attachPayment(order.id)).toBe(false);
      expect((await orders.findById(order.id))?.status).toBe('canceled');
      expect(await history(order.id)).toEqual([]);
    });
  });

  describe('changeLocked', () => {
    it('records a status change in the history and returns the order as committed', async () => {
      const order = await inserted();
      await attachPayment(order.id);
      const at = new Date(Date.now() + 1000);
      const result = await orders.changeLocked(order.id, (current) => ({
        status: 'paid',
        fields: { paymentStatus: 'succeeded', paymentVersion: String(current.paymentVersion + 1n) },
        source: 'reconciliation',
        at,
      }));
      expect(result?.changed).toBe(true);
      expect(result?.order).toEqual(await orders.findById(order.id));
      expect(result?.order).toMatchObject({
        status: 'paid',
        paymentStatus: 'succeeded',
        paymentVersion: '2',
        updatedAt: at,
        items: order.items,
      });
      expect((await history(order.id)).at(-1)).toEqual({
        from_status: 'awaiting_payment',
        to_status: 'paid',
        payment_version: '2',
        source: 'reconciliation',
      });
    });

    it('changes fields without a history row when the status stays', async () => {
      const order = await inserted();
      const result = await orders.changeLocked(order.id, (current) => ({
        status: current.status,
        fields: { paymentFailureCode: 'card_declined', amountRefunded: 100 },
        source: 'payment_update',
        at: new Date(),
      }));
      expect(result?.order).toMatchObject({
        status: 'pending_payment',
        paymentFailureCode: 'card_declined',
        amountRefunded: 100,
      });
      expect(await history(order.id)).toEqual([]);
    });

    it('writes nothing when the decision is no change, and nothing when it throws', async () => {
      const order = await inserted();
      const unchanged = await orders.changeLocked(order.id, () => null);
      expect(unchanged).toEqual({ order: await orders.findById(order.id), changed: false });

      const refusal = new Error('refused');
      await expect(
        orders.changeLocked(order.id, () => {
          throw refusal;
        }),
      ).rejects.toBe(refusal);
      expect(await orders.findById(order.id)).toEqual(unchanged?.order);
      expect(await orders.changeLocked(randomUUID(), () => null)).toBeNull();
    });

    it('queues concurrent changes on the row lock: each decides on the one before', async () => {
      const order = await inserted();
      const bump = () =>
        orders.changeLocked(order.id, (current) => ({
          status: current.status,
          fields: { paymentVersion: String(current.paymentVersion + 1n) },
          source: 'payment_update',
          at: new Date(),
        }));
      await Promise.all(Array.from({ length: 8 }, bump));
      expect((await orders.findById(order.id))?.paymentVersion).toBe('8');
    });
  });

  describe('reconciliation claims', () => {
    it('claims unpaid orders quiet for long enough, each once, backing off the next claim', async () => {
      const quiet = [];
      for (let i = 0; i < 4; i++) {
        const order = await inserted(newOrder(undefined, hoursAgo(2)));
        await attachPayment(order.id);
        await stage(order.id, "updated_at = now() - interval '2 hours'");
        quiet.push(order.id);
      }
      await stage(quiet[3], "status = 'payment_failed'");
      const recent = await inserted();
      await attachPayment(recent.id);
      const paid = await inserted(newOrder(undefined, hoursAgo(2)));
      await attachPayment(paid.id);
      await stage(paid.id, "status = 'paid', updated_at = now() - interval '2 hours'");

      const [first, second] = await Promise.all([
        orders.claimForReconciliation(3, HOUR_MS),
        orders.claimForReconciliation(3, HOUR_MS),
      ]);
      const claimed = [...first, ...second];
      expect(claimed.map((c) => c.orderId).sort()).toEqual([...quiet].sort());
      for (const candidate of claimed) {
        expect((await orders.findById(candidate.orderId))?.paymentId).toBe(candidate.paymentId);
      }
      expect(await orders.claimForReconciliation(10, HOUR_MS)).toEqual([]);
      expect(await orders.findById(quiet[0])).toMatchObject({ reconcileAttempts: 1 });
      expect((await orders.findById(quiet[0]))?.reconcileAfter?.getTime()).toBeGreaterThan(
        Date.now() + HOUR_MS / 2,
      );
    });

    it('claims the orders quiet the longest first', async () => {
      const byAge = [];
      for (const hours of [2, 4, 3]) {
        const order = await inserted(newOrder(undefined, hoursAgo(hours)));
        await attachPayment(order.id);
        await stage(order.id, 'updated_at = $2', [hoursAgo(hours)]);
        byAge.push(order.id);
      }
      const claimed = await orders.claimForReconciliation(2, HOUR_MS);
      expect(claimed.map((c) => c.orderId)).toEqual(expect.arrayContaining([byAge[1], byAge[2]]));
      expect(claimed).toHaveLength(2);

      const pending = [];
      for (const hours of [2, 4, 3])
        pending.push(await inserted(newOrder(undefined, hoursAgo(hours))));
      expect((await orders.claimPendingForReconciliation(2, HOUR_MS)).sort()).toEqual(
        [pending[1].id, pending[2].id].sort(),
      );
    });

    it('gives released claims back to the next round', async () => {
      const order = await inserted(newOrder(undefined, hoursAgo(2)));
      await attachPayment(order.id);
      await stage(order.id, "updated_at = now() - interval '2 hours'");
      expect(await orders.claimForReconciliation(10, HOUR_MS)).toHaveLength(1);
      await orders.releaseReconciliation([order.id]);
      expect(await orders.findById(order.id)).toMatchObject({
        reconcileAfter: null,
        reconcileAttempts: 0,
      });
      expect(await orders.claimForReconciliation(10, HOUR_MS)).toHaveLength(1);
      await orders.releaseReconciliation([]);
    });

    it('claims orders left pending without a payment for long enough', async () => {
      const stranded = await inserted(newOrder(undefined, hoursAgo(2)));
      await inserted();
      const attached = await inserted(newOrder(undefined, hoursAgo(2)));
      await attachPayment(attached.id);

      expect(await orders.claimPendingForReconciliation(10, HOUR_MS)).toEqual([stranded.id]);
      expect(await orders.claimPendingForReconciliation(10, HOUR_MS)).toEqual([]);
      expect((await orders.findById(stranded.id))?.reconcileAttempts).toBe(1);
    });
  });
});
