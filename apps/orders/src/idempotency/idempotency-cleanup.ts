import { Inject, Injectable, Logger } from '@nestjs/common';
import { reportJobFailure } from '#common/db/database-errors.js';
import { BackgroundJob } from '#common/runtime/periodic.js';
import { ORDERS_CONFIG, type OrdersConfig } from '../config.js';
import { IdempotencyRepository } from './idempotency.repository.js';

const BATCH = 1000;

/** Deletes expired idempotency keys now and then, in small batches, on every instance. */
@Injectable()
export class IdempotencyCleanup extends BackgroundJob {
  constructor(
    private readonly keys: IdempotencyRepository,
    @Inject(ORDERS_CONFIG) config: OrdersConfig,
  ) {
    super(
      'Idempotency key clean-up',
      config.idempotency.cleanupIntervalMs,
      new Logger(IdempotencyCleanup.name),
    );
  }

  protected round(): Promise<number> {
    return this.sweep();
  }

  /** Deletes every expired key; returns how many. */
  async sweep(): Promise<number> {
    let total = 0;
    try {
      for (let deleted = BATCH; deleted === BATCH; total += deleted) {
        deleted = await this.keys.deleteExpired(BATCH);
      }
    } catch (error) {
      reportJobFailure(this.logger, 'Idempotency key clean-up', error);
    }
    if (total > 0) this.logger.log(`Deleted ${total} expired idempotency keys`);
    return total;
  }
}
