import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { reportJobFailure } from '#common/db/database-errors.js';
import { Periodic } from '#common/runtime/periodic.js';
import { ORDERS_CONFIG, type OrdersConfig } from '../config.js';
import { IdempotencyRepository } from './idempotency.repository.js';

const BATCH = 1000;

/** Deletes expired idempotency keys now and then, in small batches, on every instance. */
@Injectable()
export class IdempotencyCleanup implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(IdempotencyCleanup.name);
  private readonly job: Periodic;

  constructor(
    private readonly keys: IdempotencyRepository,
    @Inject(ORDERS_CONFIG) private readonly config: OrdersConfig,
  ) {
    this.job = new Periodic(
      'Idempotency key clean-up',
      config.idempotency.cleanupIntervalMs,
      () => this.sweep(),
      this.logger,
    );
  }

  onModuleInit(): void {
    this.job.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
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
