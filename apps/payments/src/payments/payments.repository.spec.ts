import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createMigratedDatabase, type MigratedDatabase } from '#testing/migrated-database.js';
import { migrationTarget } from '../database/database.options.js';
import { Transactions } from '../database/transaction.js';
import { Payment } from './payment.entity.js';
import { paymentUpdate } from './payment-changes.js';
import { PaymentsRepository } from './payments.repository.js';
import { newPayment } from '../../../../test/support/payment-factory.js';

describe(PaymentsRepository.name, () => {
  let database: MigratedDatabase;
  let payments: PaymentsRepository;
  let transactions: Transactions;

  beforeAll(async () => {
    database = await createMigratedDatabase('payments_repo', (url) =>
      migrationTarget({ url, poolSize: 4 }),
    );
    payments = new PaymentsRepository(database.dataSource.getRepository(Payment));
    transactions = new Transactions(database.dataSource);
  });

  afterAll(() => database?.drop());

  const outboxOf = (paymentId: string) =>
    database.dataSource.query<{ payload: unknown; traceparent: string | null }[]>(
      'SELECT payload, traceparent FROM outbox WHERE payment_id = $1 ORDER BY id',
      [paymentId],
    );

  /** Whether some statement waits for a row lock another transaction holds. */
  const someoneWaitsForALock = async () =>
    (
      await database.dataSource.query<{ waiting: number }[]>(
        `SELECT count(*)::int AS waiting FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      )
    )[0].waiting > 0;

  describe('insertOrGetExisting', () => {
    it('inserts a new payment and reads it back field for field', async () => {
      const payment = newPayment();
      expect(await payments.insertOrGetExisting(payment)).toEqual([payment]);
      expect(await payments.findById(payment.id)).toEqual(payment);
    });

    it("returns the order's payment instead of inserting a second one", async () => {
      const first = newPayment();
      await payments.insertOrGetExisting(first);
      const again = await payments.insertOrGetExisting(newPayment({ orderId: first.orderId }));
      expect(again).toEqual([first]);
    });

    it("returns both payments when the key already created another order's", async () => {
      const first = newPayment();
      await payments.insertOrGetExisting(first);
      const other = newPayment({ createIdempotencyKey: first.createIdempotencyKey });
      const found = await payments.insertOrGetExisting(other);
      expect(found).toEqual([first]);
      expect(await payments.findById(other.id)).toBeNull();

      const second = newPayment();
      await payments.insertOrGetExisting(second);
      const clash = newPayment({
        orderId: second.orderId,
        createIdempotencyKey: first.createIdempotencyKey,
      });
      const both = await payments.insertOrGetExisting(clash);
      expect(both.map((p) => p.id).sort()).toEqual([first.id, second.id].sort());
    });
  });

  describe('recordIntent', () => {
    const intent = (id: string) => ({
      providerPaymentId: `pi_${id}`,
      clientSecret: `pi_${id}_secret`,
      status: 'requires_payment_method' as const,
      updatedAt: new Date('2026-12-01T10:00:01.000Z'),
    });

    it('attaches the PaymentIntent to a payment being created', async () => {
      const payment = newPayment();
      await payments.insertOrGetExisting(payment);
      const recorded = await payments.recordIntent(payment, intent('a'));
      expect(recorded).toEqual({ ...payment, ...intent('a') });
      expect(await payments.findById(payment.id)).toEqual(recorded);
    });

    it('keeps the first PaymentIntent and returns the payment as it stands', async () => {
      const payment = newPayment();
      await payments.insertOrGetExisting(payment);
      const won = await payments.recordIntent(payment, intent('first'));
      expect(await payments.recordIntent(payment, intent('second'))).toEqual(won);
    });

    it('leaves a payment canceled meanwhile as it is', async () => {
      const payment = newPayment({ status: 'canceled' });
      await payments.insertOrGetExisting(payment);
      expect(await payments.recordIntent(payment, intent('late'))).toEqual(payment);
    });
  });

  describe('lock', () => {
    it('returns the payment by our id or its PaymentIntent id, as findById reads it', async () => {
      const payment = newPayment({
        status: 'succeeded',
        providerPaymentId: `pi_${randomUUID()}`,
        clientSecret: 'secret',
        amountRefunded: 100,
        latestChargeId: 'ch_1',
        receiptUrl: 'https://receipts.invalid/1',
        disputed: true,
        stripeStatusAt: new Date('2026-12-01T10:00:02.000Z'),
        version: 3,
      });
      await payments.insertOrGetExisting(payment);
      const byId = await transactions.run((tx) => payments.lock(tx, { id: payment.id }));
      const byIntent = await transactions.run((tx) =>
        payments.lock(tx, { providerPaymentId: payment.providerPaymentId! }),
      );
      expect(byId).toBeInstanceOf(Payment);
      expect(byId).toEqual(payment);
      expect(byIntent).toEqual(payment);
    });

    it('returns null when there is no such payment', async () => {
      await transactions.run(async (tx) => {
        expect(await payments.lock(tx, { id: randomUUID() })).toBeNull();
        expect(await payments.lock(tx, { providerPaymentId: 'pi_unknown' })).toBeNull();
      });
    });

    it('holds the row until the transaction ends: a second lock waits and sees the change', async () => {
      const payment = newPayment();
      await payments.insertOrGetExisting(payment);
      let second: Promise<Payment | null> | undefined;
      await transactions.run(async (tx) => {
        const locked = (await payments.lock(tx, { id: payment.id }))!;
        second = transactions.run((other) => payments.lock(other, { id: payment.id }));
        while (!(await someoneWaitsForALock())) await new Promise((r) => setImmediate(r));
        locked.version += 1;
        await payments.saveWithNotification(tx, locked, {
          payload: paymentUpdate(locked),
          traceparent: null,
        });
      });
      expect((await second)!.version).toBe(payment.version + 1);
    });
  });

  describe('saveWithNotification', () => {
    it('saves the mutable state and queues its notification in the same transaction', async () => {
      const payment = newPayment({ status: 'requires_action', providerPaymentId: 'pi_s' });
      await payments.insertOrGetExisting(payment);
      const changed = Object.assign(new Payment(), payment, {
        status: 'requires_payment_method',
        clientSecret: 'secret-2',
        version: 2,
        amountRefunded: 0,
        failureCode: 'card_declined',
        failureMessage: 'Your card was declined.',
        latestChargeId: 'ch_2',
        receiptUrl: 'https://receipts.invalid/2',
        disputed: false,
        stripeStatusAt: new Date('2026-12-01T10:00:03.000Z'),
        updatedAt: new Date('2026-12-01T10:00:04.000Z'),
      });
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      await transactions.run((tx) =>
        payments.saveWithNotification(tx, changed, {
          payload: paymentUpdate(changed),
          traceparent,
        }),
      );
      expect(await payments.findById(payment.id)).toEqual(changed);
      expect(await outboxOf(payment.id)).toEqual([
        { payload: paymentUpdate(changed), traceparent },
      ]);
    });

    it('saves neither when the transaction rolls back', async () => {
      const payment = newPayment();
      await payments.insertOrGetExisting(payment);
      const changed = Object.assign(new Payment(), payment, { status: 'canceled', version: 2 });
      await expect(
        transactions.run(async (tx) => {
          await payments.saveWithNotification(tx, changed, {
            payload: paymentUpdate(changed),
            traceparent: null,
          });
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(await payments.findById(payment.id)).toEqual(payment);
      expect(await outboxOf(payment.id)).toEqual([]);
    });
  });
});
