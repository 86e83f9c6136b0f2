import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import type { ServiceError } from '@grpc/grpc-js';
import { context } from '@opentelemetry/api';
import { inSpan } from '#observability/spans.js';
import { contextFrom } from '#observability/trace-context.js';
import { PAYMENTS_CONFIG, type PaymentsConfig } from '../config.js';
import { OrdersClient } from './orders.client.js';
import { type OutboxMessage, OutboxRepository } from './outbox.repository.js';
import { observeOutbox } from '#observability/business-metrics.js';

/**
 * Delivers queued payment notifications to orders until orders accepts each one, retrying with
 * exponential backoff (1 s, 2 s, 4 s, ... up to OUTBOX_MAX_BACKOFF_MS). Any number of relays may
 * run (one per instance): each claims its batch with FOR UPDATE SKIP LOCKED. Deliveries carry a
 * key derived from the payment and its version, and orders ignores versions it already has, so a
 * notification delivered twice (e.g. after a crash before the commit) changes nothing.
 */
@Injectable()
export class OutboxRelay implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(OutboxRelay.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private lastStuckWarning = 0;
  private lastStuckCheck = 0;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly orders: OrdersClient,
    @Inject(PAYMENTS_CONFIG) private readonly config: PaymentsConfig,
  ) {}

  onModuleInit(): void {
    observeOutbox(() => this.outbox.backlog());
    this.timer = setInterval(() => this.kick(), this.config.outbox.pollIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    // A round in progress finishes the batch it claimed; no new one starts.
    await this.running;
    this.logger.log('Outbox relay stopped');
  }

  /** Starts a delivery round now (e.g. right after a change was committed). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((error: unknown) =>
        this.logger.warn(`Outbox delivery round failed: ${(error as Error).message}`),
      )
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Delivers everything due now; resolves when nothing due is left. */
  async drain(): Promise<void> {
    const { batchSize } = this.config.outbox;
    while (!this.stopped) {
      const delivered = await this.outbox.processDue(
        batchSize,
        (messages) => this.deliver(messages),
        (attempts) => this.backoffMs(attempts),
      );
      if (delivered === 0) break;
    }
    await this.warnIfStuck();
  }

  private async deliver(messages: OutboxMessage[]): Promise<Map<string, string | null>> {
    const results = new Map<string, string | null>();
    await Promise.all(
      messages.map(async (message) => {
        const key = `payment-${message.paymentId}-v${message.payload.paymentVersion}`;
        // The delivery continues the trace of the change it announces (e.g. a webhook's).
        await context.with(contextFrom(message.traceparent), () =>
          inSpan(
            'OutboxRelay.deliver',
            {
              attributes: {
                'payment.id': message.paymentId,
                'order.id': message.payload.orderId,
                'payment.version': message.payload.paymentVersion,
                'retry.attempt': message.attempts + 1,
              },
            },
            async () => {
              try {
                await this.orders.updateOrderPaymentStatus(message.payload, key);
                results.set(message.id, null);
              } catch (error) {
                const { code, details } = error as Partial<ServiceError>;
                results.set(
                  message.id,
                  `gRPC ${code ?? '?'}: ${details ?? (error as Error).message}`,
                );
              }
            },
          ),
        );
      }),
    );
    return results;
  }

  private backoffMs(attempts: number): number {
    return Math.min(1000 * 2 ** (attempts - 1), this.config.outbox.maxBackoffMs);
  }

  private async warnIfStuck(): Promise<void> {
    // The backlog query runs at most once per poll interval, not after every round: under a
    // stream of webhooks a round ends every few milliseconds.
    const now = Date.now();
    if (now - this.lastStuckCheck < this.config.outbox.pollIntervalMs) return;
    this.lastStuckCheck = now;
    if (now - this.lastStuckWarning < this.config.outbox.stuckAfterMs) return;
    const backlog = await this.outbox.backlog();
    if (backlog.oldestPendingSeconds * 1000 < this.config.outbox.stuckAfterMs) return;
    this.lastStuckWarning = Date.now();
    this.logger.warn(
      `${backlog.pending} payment notifications undelivered; the oldest is ` +
        `${backlog.oldestPendingSeconds} s old (is orders reachable?)`,
    );
  }
}
