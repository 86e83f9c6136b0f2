import { Injectable } from '@nestjs/common';
import { Clock } from '#common/runtime/clock.js';
import { Untraced } from '#observability/spans.js';
import { currentTraceparent } from '#observability/trace-context.js';
import type { UpdateOrderPaymentStatusRequest } from '#contracts/generated/orders/v1/orders.js';
import { type Transaction, Transactions } from '../database/transaction.js';
import { OutboxRelay } from '../outbox/outbox.relay.js';
import { Payment } from './payment.entity.js';
import { toProtoStatus } from './payment-state.js';
import { type PaymentKey, PaymentsRepository } from './payments.repository.js';
import { countPaymentStatus } from '#observability/business-metrics.js';

/** Changes the locked payment; returns whether it changed anything. */
export type PaymentChange = (payment: Payment, tx: Transaction) => boolean | Promise<boolean>;

/** A change made inside a caller's transaction, and the notification it queued (if any). */
export interface ChangeOutcome {
  /** The payment as it stands afterwards; null when there is no such payment. */
  payment: Payment | null;
  /** Queued for orders with the change; null when nothing changed. Kick the relay after commit. */
  queued: UpdateOrderPaymentStatusRequest | null;
}

/**
 * The one way a payment changes after creation: lock the row, let the caller change it, and if
 * anything changed, bump its version and queue the notification to orders, in the same
 * transaction. So no change is ever saved without its notification, nor notified twice.
 */
@Injectable()
export class PaymentChanges {
  constructor(
    private readonly transactions: Transactions,
    private readonly payments: PaymentsRepository,
    private readonly clock: Clock,
    private readonly relay: OutboxRelay,
  ) {}

  /**
   * Runs `change` on the locked payment in a transaction of its own. Returns the payment as it
   * stands afterwards, or null when there is no such payment.
   */
  async change(key: PaymentKey, change: PaymentChange): Promise<Payment | null> {
    const { payment } = await this.inTransaction((tx) => this.changeIn(tx, key, change));
    return payment;
  }

  /**
   * As `change`, inside the caller's transaction (see inTransaction): returns what it queued, so
   * that the caller kicks the relay once the transaction commits.
   */
  async changeIn(tx: Transaction, key: PaymentKey, change: PaymentChange): Promise<ChangeOutcome> {
    const payment = await this.payments.lock(tx, key);
    if (!payment) return { payment: null, queued: null };
    if (!(await change(payment, tx))) return { payment, queued: null };
    payment.version += 1;
    countPaymentStatus(payment.status);
    payment.updatedAt = this.clock.now();
    const queued = paymentUpdate(payment);
    await this.payments.saveWithNotification(tx, payment, {
      payload: queued,
      traceparent: currentTraceparent(),
    });
    return { payment, queued };
  }

  /**
   * Runs `work` in one transaction; once it commits, kicks the relay if `work` says it queued a
   * notification (delivered now rather than at the relay's next poll).
   */
  @Untraced()
  async inTransaction<T extends { queued: unknown }>(
    work: (tx: Transaction) => Promise<T>,
  ): Promise<T> {
    const result = await this.transactions.run(work);
    if (result.queued) this.relay.kick();
    return result;
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
