import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { bigintToNumber, type PreparedStatement, queryPrepared } from '#common/db/typeorm.js';
import type { UpdateOrderPaymentStatusRequest } from '#contracts/generated/orders/v1/orders.js';
import { Transaction } from '../database/transaction.js';
import { Payment } from './payment.entity.js';
import type { PaymentState } from './payment-state.js';

export interface RecordedIntent {
  providerPaymentId: string;
  clientSecret: string;
  status: PaymentState;
  updatedAt: Date;
}

/**
 * Checkout's statements, prepared once per connection (see queryPrepared). Exported for
 * bench/reference, which runs them as they are.
 */
export const INSERT_PAYMENT: PreparedStatement = {
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

export const RECORD_INTENT: PreparedStatement = {
  name: 'payment-record-intent',
  text: `UPDATE payments SET provider_payment_id = $2, client_secret = $3, status = $4, updated_at = $5
        WHERE id = $1 AND provider_payment_id IS NULL AND status = 'creating'
        RETURNING id`,
};

/** What to lock: a payment by our id or by its Stripe PaymentIntent id. */
export type PaymentKey = { id: string } | { providerPaymentId: string };

/** The notification to orders that a saved change queues in the outbox. */
export interface PaymentNotification {
  payload: UpdateOrderPaymentStatusRequest;
  /** The trace of the change; the delivery continues it. */
  traceparent: string | null;
}

/** Named, not `*`: a prepared statement's result type must not change under a later migration. */
const LOCKED_COLUMNS = `id, order_id, customer_id, amount, currency, status, provider_payment_id,
  client_secret, version, amount_refunded, failure_code, failure_message, latest_charge_id,
  receipt_url, disputed, stripe_status_at, checkout_traceparent, create_idempotency_key,
  created_at, updated_at`;

const LOCK_BY_ID: PreparedStatement = {
  name: 'payment-lock-by-id',
  text: `SELECT ${LOCKED_COLUMNS} FROM payments WHERE id = $1 FOR UPDATE`,
};

const LOCK_BY_PROVIDER_ID: PreparedStatement = {
  name: 'payment-lock-by-provider-id',
  text: `SELECT ${LOCKED_COLUMNS} FROM payments WHERE provider_payment_id = $1 FOR UPDATE`,
};

/**
 * The whole mutable state, as the caller left it under the row lock, and the notification of it
 * in the outbox: one round trip instead of TypeORM's save (which reads the row again first) plus
 * the outbox insert.
 */
const SAVE_WITH_NOTIFICATION: PreparedStatement = {
  name: 'payment-save+outbox',
  text: `WITH change AS (
           UPDATE payments
              SET status = $1, provider_payment_id = $2, client_secret = $3, version = $4,
                  amount_refunded = $5, failure_code = $6, failure_message = $7,
                  latest_charge_id = $8, receipt_url = $9, disputed = $10,
                  stripe_status_at = $11, updated_at = $12
            WHERE id = $13)
         INSERT INTO outbox (payment_id, payload, traceparent) VALUES ($13, $14, $15)`,
};

interface PaymentRow {
  id: string;
  order_id: string;
  customer_id: string;
  amount: string;
  currency: string;
  status: PaymentState;
  provider_payment_id: string | null;
  client_secret: string | null;
  version: string;
  amount_refunded: string;
  failure_code: string | null;
  failure_message: string | null;
  latest_charge_id: string | null;
  receipt_url: string | null;
  disputed: boolean;
  stripe_status_at: Date | null;
  checkout_traceparent: string | null;
  create_idempotency_key: string | null;
  created_at: Date;
  updated_at: Date;
}

/** The row as the entity TypeORM would have hydrated (bigints checked as safe integers). */
function paymentFromRow(row: PaymentRow): Payment {
  return Object.assign(new Payment(), {
    id: row.id,
    orderId: row.order_id,
    customerId: row.customer_id,
    amount: bigintToNumber(row.amount),
    currency: row.currency,
    status: row.status,
    providerPaymentId: row.provider_payment_id,
    clientSecret: row.client_secret,
    version: bigintToNumber(row.version),
    amountRefunded: bigintToNumber(row.amount_refunded),
    failureCode: row.failure_code,
    failureMessage: row.failure_message,
    latestChargeId: row.latest_charge_id,
    receiptUrl: row.receipt_url,
    disputed: row.disputed,
    stripeStatusAt: row.stripe_status_at,
    checkoutTraceparent: row.checkout_traceparent,
    createIdempotencyKey: row.create_idempotency_key,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
}

/** The payments table, and the outbox row that goes with each saved change. */
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

  /** Locks the payment's row until `tx` ends and returns it; null when there is no such payment. */
  async lock(tx: Transaction, key: PaymentKey): Promise<Payment | null> {
    const [row] = await queryPrepared<PaymentRow>(
      Transaction.managerOf(tx, this.payments),
      'id' in key ? LOCK_BY_ID : LOCK_BY_PROVIDER_ID,
      ['id' in key ? key.id : key.providerPaymentId],
    );
    return row ? paymentFromRow(row) : null;
  }

  /**
   * Saves the mutable state of a payment locked in `tx` and queues its notification, in one
   * statement: no change is ever saved without its notification.
   */
  async saveWithNotification(
    tx: Transaction,
    payment: Payment,
    notification: PaymentNotification,
  ): Promise<void> {
    await queryPrepared(Transaction.managerOf(tx, this.payments), SAVE_WITH_NOTIFICATION, [
      payment.status,
      payment.providerPaymentId,
      payment.clientSecret,
      payment.version,
      payment.amountRefunded,
      payment.failureCode,
      payment.failureMessage,
      payment.latestChargeId,
      payment.receiptUrl,
      payment.disputed,
      payment.stripeStatusAt,
      payment.updatedAt,
      payment.id,
      notification.payload,
      notification.traceparent,
    ]);
  }
}
