import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createMigratedDatabase, type MigratedDatabase } from '#testing/migrated-database.js';
import { migrationTarget } from '../database/database.options.js';
import { Transactions } from '../database/transaction.js';
import { Payment } from '../payments/payment.entity.js';
import { PaymentsRepository } from '../payments/payments.repository.js';
import { type StripeEventRecord, StripeEventsRepository } from './stripe-events.repository.js';
import { newPayment } from '../../../../test/support/payment-factory.js';

describe(StripeEventsRepository.name, () => {
  let database: MigratedDatabase;
  let events: StripeEventsRepository;
  let transactions: Transactions;
  let payment: Payment;

  beforeAll(async () => {
    database = await createMigratedDatabase('stripe_events_repo', (url) =>
      migrationTarget({ url, poolSize: 4 }),
    );
    events = new StripeEventsRepository(database.dataSource);
    transactions = new Transactions(database.dataSource);
    payment = newPayment({ status: 'processing', providerPaymentId: `pi_${randomUUID()}` });
    await new PaymentsRepository(database.dataSource.getRepository(Payment)).insertOrGetExisting(
      payment,
    );
  });

  afterAll(() => database?.drop());

  const event = (overrides: Partial<StripeEventRecord> = {}): StripeEventRecord => ({
    id: `evt_${randomUUID()}`,
    type: 'payment_intent.succeeded',
    created: 1_764_583_200, // 2025-12-01T10:00:00Z
    paymentIntentId: payment.providerPaymentId!,
    ...overrides,
  });

  const record = (e: StripeEventRecord) => transactions.run((tx) => events.record(tx, e));

  const stored = async (id: string) =>
    (
      await database.dataSource.query<
        { type: string; outcome: string; payment_id: string | null; stripe_created_at: Date }[]
      >('SELECT type, outcome, payment_id, stripe_created_at FROM stripe_events WHERE id = $1', [
        id,
      ])
    )[0];

  it("records an event about one of our payments as processed, with the payment's id", async () => {
    const e = event();
    expect(await record(e)).toEqual({ duplicate: false, paymentId: payment.id });
    expect(await stored(e.id)).toEqual({
      type: 'payment_intent.succeeded',
      outcome: 'processed',
      payment_id: payment.id,
      stripe_created_at: new Date('2025-12-01T10:00:00.000Z'),
    });
  });

  it('records an event about no payment of ours, or of a type we do not apply, as ignored', async () => {
    const unknown = event({ paymentIntentId: 'pi_not_ours' });
    const otherType = event({ type: 'customer.created', paymentIntentId: undefined });
    expect(await record(unknown)).toEqual({ duplicate: false, paymentId: null });
    expect(await record(otherType)).toEqual({ duplicate: false, paymentId: null });
    expect((await stored(unknown.id))?.outcome).toBe('ignored');
    expect((await stored(otherType.id))?.outcome).toBe('ignored');
  });

  it('finds a repeated delivery a duplicate and leaves the first record as it was', async () => {
    const e = event();
    await record(e);
    expect(await record({ ...e, paymentIntentId: 'pi_other' })).toEqual({ duplicate: true });
    expect((await stored(e.id))?.payment_id).toBe(payment.id);
  });

  it("records nothing when the caller's transaction rolls back", async () => {
    const e = event();
    await expect(
      transactions.run(async (tx) => {
        await events.record(tx, e);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await stored(e.id)).toBeUndefined();
    expect(await record(e)).toEqual({ duplicate: false, paymentId: payment.id });
  });
});
