import type { LoggerService, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { reportJobFailure } from '../db/database-errors.js';

/**
 * A background job of one instance: runs `task` every `intervalMs`, never overlapping itself,
 * without keeping the process alive; `stop()` waits for a round in progress. A round that fails
 * is simply tried again at the next interval.
 */
export class Periodic {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private again = false;
  private stopped = false;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly task: () => Promise<unknown>,
    private readonly logger: LoggerService,
  ) {}

  /** Whether stop() was called: a long round should end after the step it is in. */
  get stopping(): boolean {
    return this.stopped;
  }

  start(): void {
    this.timer = setInterval(() => {
      // The interval is a poll: a round already running does its work.
      if (!this.running) this.kick();
    }, this.intervalMs);
    this.timer.unref();
  }

  /**
   * Runs a round now instead of at the next interval, e.g. when work has just arrived. During a
   * round, one more follows it, since the round may have looked before the work arrived. Nothing
   * starts once stop() was called.
   */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.task()
      .catch((error: unknown) => reportJobFailure(this.logger, this.name, error))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    this.logger.log(`Background job stopped: ${this.name}`);
  }
}

/**
 * A provider whose Periodic job runs on every instance from start-up and stops with the module,
 * after the round in progress. The subclass does one round in `round()`; instances stay off each
 * other's work by what the round claims (row locks, leases), not by electing one of them.
 */
export abstract class BackgroundJob implements OnModuleInit, OnModuleDestroy {
  protected readonly job: Periodic;

  protected constructor(
    name: string,
    intervalMs: number,
    protected readonly logger: LoggerService,
  ) {
    this.job = new Periodic(name, intervalMs, () => this.round(), logger);
  }

  /** One round of the job; a failure is logged and the next interval tries again. */
  protected abstract round(): Promise<unknown>;

  onModuleInit(): void {
    this.job.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }
}
