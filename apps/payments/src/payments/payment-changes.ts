import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { Clock } from '#common/clock.js';
import { currentTraceparent } from '#observability/trace-context.js';
import type { UpdateOrderPaymentStatusRequest } from '#contracts/generated/orders/v1/orders.js';
import { OutboxRelay } from '../outbox/outbox.relay.js';
import { OutboxRepository } from '../outbox/outbox.repository.js';
import { Payment } from './payment.entity.js';
import { toProtoStatus } from './payment-state.js';
import { countPaymentStatus } from '#observability/business-metrics.js';

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
    const payment = await tx.findOne(Payment, { where: key, lock: { mode: 'pessimistic_write' } });
    if (!payment) return null;
    if (!(await change(payment, tx))) return payment;
    payment.version += 1;
    countPaymentStatus(payment.status);
    payment.updatedAt = this.clock.now();
    this.notifying.add(tx);
    await this.outbox.addWith(tx, payment.id, paymentUpdate(payment), currentTraceparent(), {
      // The whole mutable state, as the caller left it under the row lock: one round trip instead
      // of TypeORM's save (which reads the row again first) plus the outbox insert.
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
