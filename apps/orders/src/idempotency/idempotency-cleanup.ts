import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { ORDERS_CONFIG, type OrdersConfig } from '../config.js';
import { IdempotencyRepository } from './idempotency.repository.js';

const BATCH = 1000;

/** Deletes expired idempotency keys now and then, in small batches, on every instance. */
@Injectable()
export class IdempotencyCleanup implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(IdempotencyCleanup.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly keys: IdempotencyRepository,
    @Inject(ORDERS_CONFIG) private readonly config: OrdersConfig,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep().finally(() => (this.running = undefined));
    }, this.config.idempotency.cleanupIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Deletes every expired key; returns how many. */
  async sweep(): Promise<number> {
    let total = 0;
    try {
      for (let deleted = BATCH; deleted === BATCH; total += deleted) {
        deleted = await this.keys.deleteExpired(BATCH);
      }
    } catch (error) {
      this.logger.warn(`Idempotency key clean-up failed: ${(error as Error).message}`);
    }
    if (total > 0) this.logger.log(`Deleted ${total} expired idempotency keys`);
    return total;
  }
}
