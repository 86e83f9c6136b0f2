import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import { Payment } from './payment.entity.js';
import type { PaymentState } from './payment-state.js';

export interface RecordedIntent {
  providerPaymentId: string;
  clientSecret: string;
  status: PaymentState;
  updatedAt: Date;
}

@Injectable()
export class PaymentsRepository {
  constructor(@InjectRepository(Payment) private readonly payments: Repository<Payment>) {}

  /**
   * Inserts the payment unless its order or its idempotency key already has one, and returns the
   * payments that hold either. The unique constraints on order_id and create_idempotency_key
   * decide races between concurrent calls; only when one of them refused the row is it read back.
   */
  async insertOrGetExisting(candidate: Payment): Promise<Payment[]> {
    const inserted: { raw: unknown[] } = await this.payments
      .createQueryBuilder()
      .insert()
      .into(Payment)
      .values(candidate)
      .orIgnore()
      .returning(['id'])
      .execute();
    if (inserted.raw.length === 1) return [candidate];
    return this.payments.find({
      where: [
        { orderId: candidate.orderId },
        ...(candidate.createIdempotencyKey
          ? [{ createIdempotencyKey: candidate.createIdempotencyKey }]
          : []),
      ],
    });
  }

  findById(id: string): Promise<Payment | null> {
    return this.payments.findOneBy({ id });
  }

  /**
   * Attaches the PaymentIntent to a payment still being created. A payment that has one already
   * (a concurrent call won) or was canceled meanwhile is read back and returned as it stands.
   */
  async recordIntent(payment: Payment, intent: RecordedIntent): Promise<Payment> {
    const result = await this.payments.update(
      { id: payment.id, providerPaymentId: IsNull(), status: 'creating' },
      intent,
    );
    if (result.affected === 1) return Object.assign(new Payment(), payment, intent);
    return this.payments.findOneByOrFail({ id: payment.id });
  }
}
