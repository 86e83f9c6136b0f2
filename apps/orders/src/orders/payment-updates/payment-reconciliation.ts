import { Inject, Injectable, Logger } from '@nestjs/common';
import { isTransientDatabaseError } from '#common/db/database-errors.js';
import { isDomainError } from '#common/errors.js';
import { BackgroundJob } from '#common/runtime/periodic.js';
import { ORDERS_CONFIG, type OrdersConfig } from '../../config.js';
import { OrdersRepository } from '../orders.repository.js';
import { OrdersService } from '../orders.service.js';
import { snapshotOfPayment } from './payment-snapshot.js';
import { PaymentUpdatesService } from './payment-updates.service.js';
import { PaymentsClient } from '../../payments-client/payments.client.js';

/**
 * The safety net under payments' notifications and interrupted checkouts: now and then, unpaid
 * orders whose payment has been quiet for RECONCILE_AFTER_MS are checked against payments (which
 * asks Stripe) and brought up to date, and orders left without their payment for
 * RECONCILE_PENDING_AFTER_MS get it, so none waits for its client to come back. Runs on every
 * instance; claims keep instances off each other's orders. An order that stays unchanged is
 * checked less and less often (the delay doubles, up to 64 times).
 */
@Injectable()
export class PaymentReconciliation extends BackgroundJob {
  constructor(
    private readonly orders: OrdersRepository,
    private readonly ordersService: OrdersService,
    private readonly payments: PaymentsClient,
    private readonly paymentUpdates: PaymentUpdatesService,
    @Inject(ORDERS_CONFIG) private readonly config: OrdersConfig,
  ) {
    super(
      'Reconciliation round',
      config.reconciliation.intervalMs,
      new Logger(PaymentReconciliation.name),
    );
  }

  protected round(): Promise<number> {
    return this.reconcileOnce();
  }

  /**
   * One round: claims a batch of orders left `pending_payment` and obtains their payment, then a
   * batch of unpaid orders and checks each. Returns how many orders were brought up to date.
   */
  async reconcileOnce(): Promise<number> {
    try {
      // With the circuit open, claiming orders only to give them back is wasted work.
      this.payments.assertAvailable();
    } catch {
      return 0;
    }
    const { batchSize, afterMs, pendingAfterMs } = this.config.reconciliation;
    const pending = await this.orders.claimPendingForReconciliation(batchSize, pendingAfterMs);
    const attached = await this.each(pending, (orderId) => this.obtainPayment(orderId));
    if (attached > 0) {
      this.logger.log(`Obtained the payment of ${attached} orders left pending_payment`);
    }
    const claimed = await this.orders.claimForReconciliation(batchSize, afterMs);
    const paymentOf = new Map(claimed.map((c) => [c.orderId, c.paymentId]));
    const checked = await this.each([...paymentOf.keys()], async (orderId) => {
      const payment = await this.payments.getPayment(paymentOf.get(orderId)!, true);
      await this.paymentUpdates.apply({ ...snapshotOfPayment(payment), orderId }, 'reconciliation');
    });
    if (checked > 0) this.logger.log(`Reconciled ${checked} orders with payments`);
    return attached + checked;
  }

  /**
   * The checkout that was cut off, finished for it: the order's own key returns the payment the
   * checkout created at payments, or creates it, exactly as the checkout's retry would.
   */
  private async obtainPayment(orderId: string): Promise<void> {
    const order = await this.orders.findById(orderId);
    // A retried checkout or a cancel got there first.
    if (!order || order.status !== 'pending_payment' || order.paymentId) return;
    await this.ordersService.obtainPayment(order, 'reconciliation');
  }

  /**
   * Runs `work` for each claimed order, one at a time, with no transaction open during the calls
   * (the claims committed already). While payments is unavailable the rest of the claims are
   * given back for the next round. Returns how many orders were done.
   */
  private async each(orderIds: string[], work: (orderId: string) => Promise<void>) {
    let done = 0;
    for (const [index, orderId] of orderIds.entries()) {
      try {
        await work(orderId);
        done++;
      } catch (error) {
        // Our database is away: the round ends (the job reports it); the orders it claimed are
        // due again after their backoff.
        if (isTransientDatabaseError(error)) throw error;
        if (isDomainError(error) && error.code === 'unavailable') {
          const rest = orderIds.slice(index);
          this.logger.warn(
            `payments is unavailable; ${rest.length} orders left for the next round`,
          );
          await this.orders.releaseReconciliation(rest);
          break;
        }
        this.logger.warn(`Could not reconcile order ${orderId}: ${(error as Error).message}`);
      }
    }
    return done;
  }
}
