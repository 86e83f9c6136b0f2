import { Inject, Injectable, Logger } from '@nestjs/common';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { BackgroundJob } from '#common/runtime/periodic.js';
import { inSpan, Untraced } from '#observability/spans.js';
import { contextFrom } from '#observability/trace-context.js';
import { PAYMENTS_CONFIG, type PaymentsConfig } from '../config.js';
import { OrdersClient } from './orders.client.js';
import { type OutboxMessage, type OutboxOutcome, OutboxRepository } from './outbox.repository.js';
import { countOutboxParked, observeOutbox } from '#observability/business-metrics.js';
import { afterFailure } from './outbox-retry.js';

/**
 * Delivers queued payment notifications to orders until orders accepts each one, retrying with
 * exponential backoff (1 s, 2 s, 4 s, ... up to OUTBOX_MAX_BACKOFF_MS). A notification orders
 * refuses permanently (OUTBOX_MAX_ATTEMPTS times) is parked instead, logged once, and left for
 * an operator to replay after a fix (see outbox-retry.ts). Any number of relays may
 * run (one per instance): each leases its batch in one statement (FOR UPDATE SKIP LOCKED inside),
 * delivers it, and records the outcomes in one more. Deliveries carry a key derived from the
 * payment and its version, and orders ignores versions it already has, so a notification
 * delivered twice (e.g. by a relay that died before recording the outcome) changes nothing.
 */
@Injectable()
export class OutboxRelay extends BackgroundJob {
  private lastStuckWarning = 0;
  private lastStuckCheck = 0;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly orders: OrdersClient,
    @Inject(PAYMENTS_CONFIG) private readonly config: PaymentsConfig,
  ) {
    super('Outbox delivery round', config.outbox.pollIntervalMs, new Logger(OutboxRelay.name));
  }

  /**
   * A round serves every queued change, not the request that happened to kick it: it runs outside
   * that request's trace, and each delivery joins the trace of its own change.
   */
  protected round(): Promise<void> {
    return context.with(ROOT_CONTEXT, () => this.drain());
  }

  override onModuleInit(): void {
    observeOutbox(() => this.outbox.backlog());
    super.onModuleInit();
  }

  /** Starts a delivery round now (e.g. right after a change was committed). */
  kick(): void {
    this.job.kick();
  }

  /** Delivers everything due now; resolves when nothing due is left. */
  @Untraced()
  async drain(): Promise<void> {
    const { batchSize } = this.config.outbox;
    // Deliveries of a batch run in parallel, each bounded by the gRPC deadline: the lease
    // outlasts the batch with room to spare.
    const leaseMs = 2 * this.config.orders.timeoutMs + 5_000;
    while (!this.job.stopping) {
      const messages = await this.outbox.claimDue(batchSize, leaseMs);
      if (messages.length === 0) break;
      const outcomes = await Promise.all(messages.map((m) => this.deliver(m)));
      await this.outbox.settle(outcomes);
      for (const [i, outcome] of outcomes.entries()) {
        if (outcome.park) this.reportParked(messages[i], outcome);
      }
      // A short batch was everything due; changes queued since then kick another round.
      if (messages.length < batchSize) break;
    }
    await this.warnIfStuck();
  }

  private deliver(message: OutboxMessage): Promise<OutboxOutcome> {
    const key = `payment-${message.paymentId}-v${message.payload.paymentVersion}`;
    // The delivery continues the trace of the change it announces (e.g. a webhook's).
    return context.with(contextFrom(message.traceparent), () =>
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
            return { id: message.id, error: null, retryInMs: 0, refused: false, park: false };
          } catch (error) {
            const { maxAttempts, maxBackoffMs } = this.config.outbox;
            return {
              id: message.id,
              ...afterFailure(error, message, { maxAttempts, maxBackoffMs }),
            };
          }
        },
      ),
    );
  }

  /** Once per parked notification: it is never claimed again unless replayed. */
  private reportParked(message: OutboxMessage, outcome: OutboxOutcome): void {
    countOutboxParked();
    this.logger.error(
      `Parked the notification of payment ${message.paymentId} (version ` +
        `${message.payload.paymentVersion}, order ${message.payload.orderId}): orders refused ` +
        `it ${message.refusals + 1} times, last with ${outcome.error}. Replay it once fixed: ` +
        `npm run outbox:replay -- ${message.paymentId}`,
      { payment_id: message.paymentId, order_id: message.payload.orderId },
    );
  }

  @Untraced()
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
