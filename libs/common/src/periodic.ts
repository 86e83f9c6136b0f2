import type { LoggerService } from '@nestjs/common';

/**
 * A background job of one instance: runs `task` every `intervalMs`, never overlapping itself,
 * without keeping the process alive; `stop()` waits for a round in progress.
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
        .catch((error: unknown) => {
          this.logger.warn(`${this.name} failed: ${(error as Error).message}`);
        })
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
