import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { isTransientDatabaseError } from '#common/database-errors.js';
import { isDomainError } from '#common/errors.js';
import { Periodic } from '#common/periodic.js';
import { ORDERS_CONFIG, type OrdersConfig } from '../config.js';
import { OrdersRepository } from '../orders/orders.repository.js';
import { snapshotOfPayment } from '../orders/payment-snapshot.js';
import { PaymentUpdatesService } from '../orders/payment-updates.service.js';
import { PaymentsClient } from '../payments/payments.client.js';

/**
 * The safety net under payments' notifications: now and then, unpaid orders whose payment has
 * been quiet for RECONCILE_AFTER_MS are checked against payments (which asks Stripe) and brought
 * up to date. Runs on every instance; claims keep instances off each other's orders. An order
 * that stays unchanged is checked less and less often (the delay doubles, up to 64 times).
 */
@Injectable()
export class PaymentReconciliation implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(PaymentReconciliation.name);
  private readonly job: Periodic;

  constructor(
    private readonly orders: OrdersRepository,
    private readonly payments: PaymentsClient,
    private readonly paymentUpdates: PaymentUpdatesService,
    @Inject(ORDERS_CONFIG) private readonly config: OrdersConfig,
  ) {
    this.job = new Periodic(
      'Reconciliation round',
      config.reconciliation.intervalMs,
      () => this.reconcileOnce(),
      this.logger,
    );
  }

  onModuleInit(): void {
    this.job.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }

  /** One round: claims a batch and checks each order. Returns how many orders were checked. */
  async reconcileOnce(): Promise<number> {
    try {
      // With the circuit open, claiming orders only to give them back is wasted work.
      this.payments.assertAvailable();
    } catch {
      return 0;
    }
    const { batchSize, afterMs } = this.config.reconciliation;
    const claimed = await this.orders.claimForReconciliation(batchSize, afterMs);
    let checked = 0;
    for (const [index, candidate] of claimed.entries()) {
      try {
        // No transaction is open during the call: the claim committed already.
        const payment = await this.payments.getPayment(candidate.paymentId, true);
        await this.paymentUpdates.apply(
          { ...snapshotOfPayment(payment), orderId: candidate.orderId },
          'reconciliation',
        );
        checked++;
      } catch (error) {
        // Our database is away: the round ends (the job reports it); the orders it claimed are
        // due again after their backoff.
        if (isTransientDatabaseError(error)) throw error;
        if (isDomainError(error) && error.code === 'unavailable') {
          const rest = claimed.slice(index).map((c) => c.orderId);
          this.logger.warn(
            `payments is unavailable; ${rest.length} orders left for the next round`,
          );
          await this.orders.releaseReconciliation(rest);
          break;
        }
        this.logger.warn(
          `Could not reconcile order ${candidate.orderId}: ${(error as Error).message}`,
        );
      }
    }
    if (checked > 0) this.logger.log(`Reconciled ${checked} orders with payments`);
    return checked;
  }
}
