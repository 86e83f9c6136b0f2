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
   * decide races between concurrent calls.
   */
  async insertOrGetExisting(candidate: Payment): Promise<Payment[]> {
    await this.payments
      .createQueryBuilder()
      .insert()
      .into(Payment)
      .values(candidate)
      .orIgnore()
      .execute();
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
   * Attaches the PaymentIntent to a payment that has none yet; a payment that already has it (a
   * concurrent call won) is returned unchanged.
   */
  async recordIntent(id: string, intent: RecordedIntent): Promise<Payment> {
    await this.payments.update({ id, providerPaymentId: IsNull() }, intent);
    return this.payments.findOneByOrFail({ id });
  }
}
