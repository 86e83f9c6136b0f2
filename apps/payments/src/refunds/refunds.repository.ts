import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { bigintToNumber } from '#common/db/typeorm.js';
import { Transaction } from '../database/transaction.js';
import { Refund, type RefundState } from './refund.entity.js';

/** What a Stripe Refund tells us about ours. */
export interface RefundProgress {
  providerRefundId: string;
  status: RefundState;
  failureReason: string | null;
  updatedAt: Date;
}

/**
 * The refunds table. Reads and writes that decide a refund run in the transaction holding its
 * payment's row lock (`tx`), which orders them among concurrent refunds of the same payment.
 */
@Injectable()
export class RefundsRepository {
  constructor(@InjectRepository(Refund) private readonly refunds: Repository<Refund>) {}

  findById(id: string): Promise<Refund | null> {
    return this.refunds.findOneBy({ id });
  }

  findByIdempotencyKey(tx: Transaction, idempotencyKey: string): Promise<Refund | null> {
    return this.in(tx).findOneBy({ idempotencyKey });
  }

  findByProviderRefundId(tx: Transaction, providerRefundId: string): Promise<Refund | null> {
    return this.in(tx).findOneBy({ providerRefundId });
  }

  /** Our refund `id`, if it belongs to `paymentId`. */
  findOfPayment(tx: Transaction, id: string, paymentId: string): Promise<Refund | null> {
    return this.in(tx).findOneBy({ id, paymentId });
  }

  async insert(tx: Transaction, refund: Refund): Promise<void> {
    await this.in(tx).insert(refund);
  }

  async recordProgress(tx: Transaction, id: string, progress: RefundProgress): Promise<void> {
    await this.in(tx).update(id, progress);
  }

  /** Stripe refused the refund for good: what it reserved is free again. */
  async markFailed(id: string, failureReason: string, updatedAt: Date): Promise<void> {
    await this.refunds.update(id, { status: 'failed', failureReason, updatedAt });
  }

  /** The total amount of the payment's refunds in `states`, in minor units. */
  async total(tx: Transaction, paymentId: string, states: RefundState[]): Promise<number> {
    const [row] = await Transaction.managerOf(tx, this.refunds).query<{ total: string }[]>(
      `SELECT coalesce(sum(amount), 0)::bigint AS total
         FROM refunds WHERE payment_id = $1 AND status = ANY($2::text[])`,
      [paymentId, states],
    );
    return bigintToNumber(row.total);
  }

  private in(tx: Transaction): Repository<Refund> {
    return Transaction.managerOf(tx, this.refunds).getRepository(Refund);
  }
}
