import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { Clock } from '#common/clock.js';
import { currentTraceparent } from '#observability/trace-context.js';
import type { UpdateOrderPaymentStatusRequest } from '#contracts/generated/orders/v1/orders.js';
import { OutboxRelay } from '../outbox/outbox.relay.js';
import { OutboxRepository } from '../outbox/outbox.repository.js';
import { Payment } from './payment.entity.js';
import { type PaymentState, toProtoStatus } from './payment-state.js';
import { bigintAsNumber, type PreparedStatement, queryPrepared } from '#common/typeorm.js';
import { countPaymentStatus } from '#observability/business-metrics.js';

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

const toNumber = (value: string) => bigintAsNumber.from(value) as number;

/** The locked row as the entity TypeORM would have hydrated (bigints checked as safe integers). */
function paymentFromRow(row: PaymentRow): Payment {
  return Object.assign(new Payment(), {
    id: row.id,
    orderId: row.order_id,
    customerId: row.customer_id,
    amount: toNumber(row.amount),
    currency: row.currency,
    status: row.status,
    providerPaymentId: row.provider_payment_id,
    clientSecret: row.client_secret,
    version: toNumber(row.version),
    amountRefunded: toNumber(row.amount_refunded),
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

/** What to lock: a payment by our id or by its Stripe PaymentIntent id. */
export type PaymentKey = { id: string } | { providerPaymentId: string };

/**
 * The one way a payment changes after creation: lock the row, let the caller change it, and if
 * anything changed, bump its version and queue the notification to orders, in the same
 * transaction. So no change is ever saved without its notification, nor notified twice.
 */
@Injectable()
export class PaymentChanges {
  /** Transactions in which a notification was queued: only they give the relay work. */
  private readonly notifying = new WeakSet<EntityManager>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly outbox: OutboxRepository,
    private readonly clock: Clock,
    private readonly relay: OutboxRelay,
  ) {}

  /**
   * Runs `change` on the locked payment; `change` returns whether it changed anything. Returns the
   * payment as it stands afterwards, or null when there is no such payment. Pass `tx` to join a
   * transaction the caller already holds.
   */
  async change(
    key: PaymentKey,
    change: (payment: Payment, tx: EntityManager) => boolean | Promise<boolean>,
    tx?: EntityManager,
  ): Promise<Payment | null> {
    if (!tx) {
      let queued = false;
      const payment = await this.db.transaction(async (own) => {
        const changed = await this.change(key, change, own);
        queued = this.queuedIn(own);
        return changed;
      });
      if (queued) this.relay.kick(); // deliver now rather than at the next poll
      return payment;
    }
    const rows = await queryPrepared<PaymentRow>(
      tx,
      'id' in key ? LOCK_BY_ID : LOCK_BY_PROVIDER_ID,
      ['id' in key ? key.id : key.providerPaymentId],
    );
    if (!rows[0]) return null;
    const payment = paymentFromRow(rows[0]);
    if (!(await change(payment, tx))) return payment;
    payment.version += 1;
    countPaymentStatus(payment.status);
    payment.updatedAt = this.clock.now();
    this.notifying.add(tx);
    await this.outbox.addWith(tx, payment.id, paymentUpdate(payment), currentTraceparent(), {
      // The whole mutable state, as the caller left it under the row lock: one round trip instead
      // of TypeORM's save (which reads the row again first) plus the outbox insert.
      name: 'payment-save',
      sql: `UPDATE payments
               SET status = $1, provider_payment_id = $2, client_secret = $3, version = $4,
                   amount_refunded = $5, failure_code = $6, failure_message = $7,
                   latest_charge_id = $8, receipt_url = $9, disputed = $10,
                   stripe_status_at = $11, updated_at = $12
             WHERE id = $13`,
      parameters: [
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
      ],
    });
    return payment;
  }

  /** Whether a change in `tx` queued a notification (to kick the relay once it commits). */
  queuedIn(tx: EntityManager): boolean {
    return this.notifying.has(tx);
  }
}

/** The notification orders receives about a payment. */
export function paymentUpdate(payment: Payment): UpdateOrderPaymentStatusRequest {
  return {
    orderId: payment.orderId,
    paymentId: payment.id,
    paymentStatus: toProtoStatus(payment.status),
    paymentVersion: String(payment.version),
    amountRefunded: String(payment.amountRefunded),
    disputed: payment.disputed,
    failureCode: payment.failureCode ?? '',
  };
}
