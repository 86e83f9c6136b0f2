import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createMigratedDatabase, type MigratedDatabase } from '#testing/migrated-database.js';
import { migrationTarget } from '../database/database.options.js';
import { Transactions } from '../database/transaction.js';
import { Payment } from '../payments/payment.entity.js';
import { PaymentsRepository } from '../payments/payments.repository.js';
import { Refund } from './refund.entity.js';
import { RefundsRepository } from './refunds.repository.js';
import { newPayment } from '../../../../test/support/payment-factory.js';

describe(RefundsRepository.name, () => {
  let database: MigratedDatabase;
  let refunds: RefundsRepository;
  let payments: PaymentsRepository;
  let transactions: Transactions;

  beforeAll(async () => {
    database = await createMigratedDatabase('refunds_repo', (url) =>
      migrationTarget({ url, poolSize: 4 }),
    );
    refunds = new RefundsRepository(database.dataSource.getRepository(Refund));
    payments = new PaymentsRepository(database.dataSource.getRepository(Payment));
    transactions = new Transactions(database.dataSource);
  });

  afterAll(() => database?.drop());

  /** A succeeded payment to refund. */
  async function paidPayment(): Promise<Payment> {
    const payment = newPayment({ status: 'succeeded', providerPaymentId: `pi_${randomUUID()}` });
    await payments.insertOrGetExisting(payment);
    return payment;
  }

  function newRefund(paymentId: string, overrides: Partial<Refund> = {}): Refund {
    const at = new Date('2026-12-01T11:00:00.000Z');
    return Object.assign(new Refund(), {
      id: randomUUID(),
      paymentId,
      amount: 1000,
      currency: 'eur',
      status: 'creating',
      reason: 'requested_by_customer',
      providerRefundId: null,
      failureReason: null,
      idempotencyKey: randomUUID(),
      createdAt: at,
      updatedAt: at,
      ...overrides,
    } satisfies Refund);
  }

  const insert = (refund: Refund) => transactions.run((tx) => refunds.insert(tx, refund));

  it('inserts a refund and finds it by id, idempotency key and Stripe id', async () => {
    const payment = await paidPayment();
    const refund = newRefund(payment.id, { providerRefundId: `re_${randomUUID()}` });
    await insert(refund);
    expect(await refunds.findById(refund.id)).toEqual(refund);
    await transactions.run(async (tx) => {
      expect(await refunds.findByIdempotencyKey(tx, refund.idempotencyKey!)).toEqual(refund);
      expect(await refunds.findByProviderRefundId(tx, refund.providerRefundId!)).toEqual(refund);
      expect(await refunds.findByIdempotencyKey(tx, randomUUID())).toBeNull();
      expect(await refunds.findByProviderRefundId(tx, 're_unknown')).toBeNull();
    });
  });

  it("finds our refund by id only as the payment's own", async () => {
    const payment = await paidPayment();
    const other = await paidPayment();
    const refund = newRefund(payment.id);
    await insert(refund);
    await transactions.run(async (tx) => {
      expect(await refunds.findOfPayment(tx, refund.id, payment.id)).toEqual(refund);
      expect(await refunds.findOfPayment(tx, refund.id, other.id)).toBeNull();
    });
  });

  it("records Stripe's progress on a refund", async () => {
    const payment = await paidPayment();
    const refund = newRefund(payment.id);
    await insert(refund);
    const progress = {
      providerRefundId: `re_${randomUUID()}`,
      status: 'succeeded' as const,
      failureReason: null,
      updatedAt: new Date('2026-12-01T11:00:05.000Z'),
    };
    await transactions.run((tx) => refunds.recordProgress(tx, refund.id, progress));
    expect(await refunds.findById(refund.id)).toEqual({ ...refund, ...progress });
  });

  it('marks a refund Stripe refused as failed, with the reason', async () => {
    const payment = await paidPayment();
    const refund = newRefund(payment.id);
    await insert(refund);
    const at = new Date('2026-12-01T11:00:06.000Z');
    await refunds.markFailed(refund.id, 'The charge was disputed.', at);
    expect(await refunds.findById(refund.id)).toEqual({
      ...refund,
      status: 'failed',
      failureReason: 'The charge was disputed.',
      updatedAt: at,
    });
  });

  it("totals the payment's refunds in the given states only", async () => {
    const payment = await paidPayment();
    const other = await paidPayment();
    await insert(newRefund(payment.id, { amount: 100, status: 'succeeded' }));
    await insert(newRefund(payment.id, { amount: 20, status: 'pending' }));
    await insert(newRefund(payment.id, { amount: 3, status: 'failed' }));
    await insert(newRefund(other.id, { amount: 4000, status: 'succeeded' }));
    await transactions.run(async (tx) => {
      expect(await refunds.total(tx, payment.id, ['succeeded'])).toBe(100);
      expect(await refunds.total(tx, payment.id, ['succeeded', 'pending', 'creating'])).toBe(120);
      expect(await refunds.total(tx, payment.id, ['canceled'])).toBe(0);
    });
  });

  it("reads and writes in the caller's transaction: a rollback leaves nothing", async () => {
    const payment = await paidPayment();
    const refund = newRefund(payment.id, { status: 'succeeded' });
    await expect(
      transactions.run(async (tx) => {
        await refunds.insert(tx, refund);
        expect(await refunds.findByIdempotencyKey(tx, refund.idempotencyKey!)).toEqual(refund);
        expect(await refunds.total(tx, payment.id, ['succeeded'])).toBe(refund.amount);
        // Not committed: invisible outside the transaction.
        expect(await refunds.findById(refund.id)).toBeNull();
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await refunds.findById(refund.id)).toBeNull();
  });
});
