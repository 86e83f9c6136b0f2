import type { LoggerService } from '@nestjs/common';
import { reportJobFailure } from './database-errors.js';

/**
 * A background job of one instance: runs `task` every `intervalMs`, never overlapping itself,
 * without keeping the process alive; `stop()` waits for a round in progress. A round that fails
 * is simply tried again at the next interval.
 */
export class Periodic {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly task: () => Promise<unknown>,
    private readonly logger: LoggerService,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.task()
        .catch((error: unknown) => reportJobFailure(this.logger, this.name, error))
        .finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    this.logger.log(`Background job stopped: ${this.name}`);
  }
}
