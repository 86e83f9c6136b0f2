import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { type PreparedStatement, queryPrepared } from '#common/typeorm.js';
import { Payment } from './payment.entity.js';
import type { PaymentState } from './payment-state.js';

export interface RecordedIntent {
  providerPaymentId: string;
  clientSecret: string;
  status: PaymentState;
  updatedAt: Date;
}

/** Checkout's statements, prepared once per connection (see queryPrepared). */
const INSERT_PAYMENT: PreparedStatement = {
  name: 'payment-insert',
  text: `INSERT INTO payments
         (id, order_id, customer_id, amount, currency, status, provider_payment_id, client_secret,
          version, amount_refunded, failure_code, failure_message, latest_charge_id, receipt_url,
          disputed, stripe_status_at, checkout_traceparent, create_idempotency_key, created_at,
          updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
               $19, $20)
       ON CONFLICT DO NOTHING
       RETURNING id`,
};

const RECORD_INTENT: PreparedStatement = {
  name: 'payment-record-intent',
  text: `UPDATE payments SET provider_payment_id = $2, client_secret = $3, status = $4, updated_at = $5
        WHERE id = $1 AND provider_payment_id IS NULL AND status = 'creating'
        RETURNING id`,
};

@Injectable()
export class PaymentsRepository {
  constructor(@InjectRepository(Payment) private readonly payments: Repository<Payment>) {}

  /**
   * Inserts the payment unless its order or its idempotency key already has one, and returns the
   * payments that hold either. The unique constraints on order_id and create_idempotency_key
   * decide races between concurrent calls; only when one of them refused the row is it read back.
   */
  async insertOrGetExisting(candidate: Payment): Promise<Payment[]> {
    const inserted = await queryPrepared(this.payments.manager, INSERT_PAYMENT, [
      candidate.id,
      candidate.orderId,
      candidate.customerId,
      candidate.amount,
      candidate.currency,
      candidate.status,
      candidate.providerPaymentId,
      candidate.clientSecret,
      candidate.version,
      candidate.amountRefunded,
      candidate.failureCode,
      candidate.failureMessage,
      candidate.latestChargeId,
      candidate.receiptUrl,
      candidate.disputed,
      candidate.stripeStatusAt,
      candidate.checkoutTraceparent,
      candidate.createIdempotencyKey,
      candidate.createdAt,
      candidate.updatedAt,
    ]);
    if (inserted.length === 1) return [candidate];
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
    const updated = await queryPrepared(this.payments.manager, RECORD_INTENT, [
      payment.id,
      intent.providerPaymentId,
      intent.clientSecret,
      intent.status,
      intent.updatedAt,
    ]);
    if (updated.length === 1) return Object.assign(new Payment(), payment, intent);
    return this.payments.findOneByOrFail({ id: payment.id });
  }
}
