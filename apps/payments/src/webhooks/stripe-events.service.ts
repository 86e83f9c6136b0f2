import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type Stripe from 'stripe';
import { DataSource, type EntityManager } from 'typeorm';
import { trace } from '@opentelemetry/api';
import { annotate, Untraced } from '#observability/spans.js';
import { type PreparedStatement, queryPrepared } from '#common/typeorm.js';
import { spanContextFrom } from '#observability/trace-context.js';
import { OutboxRelay } from '../outbox/outbox.relay.js';
import { PaymentChanges } from '../payments/payment-changes.js';
import type { Payment } from '../payments/payment.entity.js';
import { RefundsService } from '../refunds/refunds.service.js';
import { countWebhookEvent } from '#observability/business-metrics.js';
import { effectOf, isSubscribed } from './stripe-event-effects.js';

/**
 * Every event's first statement, prepared once per connection (see queryPrepared): records the
 * event with its outcome, decided in the same statement: `processed` when it concerns one of our
 * payments (found by its PaymentIntent id, $4; null for a type payments does not apply),
 * `ignored` otherwise. Nothing when the event was recorded before (a duplicate).
 */
const RECORD_EVENT: PreparedStatement = {
  name: 'stripe-event-record-with-outcome',
  text: `INSERT INTO stripe_events (id, type, outcome, payment_id, stripe_created_at, received_at)
         SELECT $1, $2, CASE WHEN payment.id IS NULL THEN 'ignored' ELSE 'processed' END,
                payment.id, to_timestamp($3), now()
           FROM (SELECT (SELECT id FROM payments WHERE provider_payment_id = $4) AS id) payment
         ON CONFLICT (id) DO NOTHING RETURNING payment_id`,
};

export type EventOutcome = 'processed' | 'duplicate' | 'ignored';

/**
 * Applies verified Stripe events. Each event is one short transaction: its id is recorded (a
 * unique key, so a repeated or concurrent delivery finds it and changes nothing) together with
 * its effect on the payment and the notification to orders.
 */
@Injectable()
export class StripeEventsService {
  private readonly logger = new Logger(StripeEventsService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly changes: PaymentChanges,
    private readonly refunds: RefundsService,
    private readonly relay: OutboxRelay,
  ) {}

  async handle(event: Stripe.Event): Promise<EventOutcome> {
    annotate({ 'stripe.event_id': event.id, 'stripe.event_type': event.type });
    const { outcome, notify } = await this.record(event);
    annotate({ 'stripe.event_outcome': outcome });
    countWebhookEvent(event.type, outcome);
    // An event that changed nothing (e.g. payment_intent.created after CreatePayment recorded the
    // intent) queued nothing: a relay round would only find the outbox empty.
    if (notify) this.relay.kick();
    return outcome;
  }

  private record(event: Stripe.Event): Promise<{ outcome: EventOutcome; notify: boolean }> {
    return this.db.transaction(async (tx) => {
      const result = await this.recordIn(event, tx);
      return { outcome: result, notify: this.changes.queuedIn(tx) };
    });
  }

  @Untraced()
  private async recordIn(event: Stripe.Event, tx: EntityManager): Promise<EventOutcome> {
    const [recorded] = await queryPrepared<{ payment_id: string | null }>(tx, RECORD_EVENT, [
      event.id,
      event.type,
      event.created,
      intentIdOf(event) ?? null,
    ]);
    if (!recorded) return 'duplicate';
    if (!recorded.payment_id) {
      this.logger.log(`Ignored Stripe event ${event.id} (${event.type})`);
      return 'ignored';
    }
    // The payment exists: it was found under this transaction's snapshot, and payments are never
    // deleted. Its row lock orders this event among concurrent changes to the same payment.
    const payment = await this.apply(event, recorded.payment_id, tx);
    const checkout = spanContextFrom(payment?.checkoutTraceparent);
    // Links this webhook's trace to the checkout that created the payment.
    if (checkout) trace.getActiveSpan()?.addLink({ context: checkout });
    if (payment) annotate({ 'payment.id': payment.id, 'order.id': payment.orderId });
    return 'processed';
  }

  @Untraced()
  private async apply(
    event: Stripe.Event,
    paymentId: string,
    tx: EntityManager,
  ): Promise<Payment | null> {
    if (!isSubscribed(event)) return null;
    return this.changes.change({ id: paymentId }, effectOf(event.type, event, this.refunds), tx);
  }
}

/** The PaymentIntent an event of a type payments applies is about; undefined for other types. */
function intentIdOf(event: Stripe.Event): string | undefined {
  if (!isSubscribed(event)) return undefined;
  const object = event.data.object as {
    object: string;
    id: string;
    payment_intent?: string | { id: string } | null;
  };
  return object.object === 'payment_intent' ? object.id : idOf(object.payment_intent);
}

function idOf(value: string | { id: string } | null | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.id;
}
