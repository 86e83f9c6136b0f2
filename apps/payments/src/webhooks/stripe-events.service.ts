import { Injectable, Logger } from '@nestjs/common';
import type Stripe from 'stripe';
import { trace } from '@opentelemetry/api';
import { annotate, Untraced } from '#observability/spans.js';
import { spanContextFrom } from '#observability/trace-context.js';
import type { Transaction } from '../database/transaction.js';
import { type ChangeOutcome, PaymentChanges } from '../payments/payment-changes.js';
import { RefundsService } from '../refunds/refunds.service.js';
import { StripeEventsRepository } from './stripe-events.repository.js';
import { countWebhookEvent } from '#observability/business-metrics.js';
import { effectOf, isSubscribed } from './stripe-event-effects.js';

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
    private readonly events: StripeEventsRepository,
    private readonly changes: PaymentChanges,
    private readonly refunds: RefundsService,
  ) {}

  async handle(event: Stripe.Event): Promise<EventOutcome> {
    annotate({ 'stripe.event_id': event.id, 'stripe.event_type': event.type });
    // An event that changed nothing (e.g. payment_intent.created after CreatePayment recorded the
    // intent) queued nothing, and does not kick the relay: a round would find the outbox empty.
    const { outcome } = await this.changes.inTransaction((tx) => this.record(event, tx));
    annotate({ 'stripe.event_outcome': outcome });
    countWebhookEvent(event.type, outcome);
    return outcome;
  }

  @Untraced()
  private async record(
    event: Stripe.Event,
    tx: Transaction,
  ): Promise<{ outcome: EventOutcome; queued: ChangeOutcome['queued'] }> {
    const recorded = await this.events.record(tx, {
      id: event.id,
      type: event.type,
      created: event.created,
      paymentIntentId: intentIdOf(event),
    });
    if (recorded.duplicate) return { outcome: 'duplicate', queued: null };
    if (!recorded.paymentId) {
      this.logger.log(`Ignored Stripe event ${event.id} (${event.type})`);
      return { outcome: 'ignored', queued: null };
    }
    // The payment exists: it was found under this transaction's snapshot, and payments are never
    // deleted. Its row lock orders this event among concurrent changes to the same payment.
    const { payment, queued } = await this.apply(event, recorded.paymentId, tx);
    const checkout = spanContextFrom(payment?.checkoutTraceparent);
    // Links this webhook's trace to the checkout that created the payment.
    if (checkout) trace.getActiveSpan()?.addLink({ context: checkout });
    if (payment) annotate({ 'payment.id': payment.id, 'order.id': payment.orderId });
    return { outcome: 'processed', queued };
  }

  @Untraced()
  private async apply(
    event: Stripe.Event,
    paymentId: string,
    tx: Transaction,
  ): Promise<ChangeOutcome> {
    if (!isSubscribed(event)) return { payment: null, queued: null };
    return this.changes.changeIn(tx, { id: paymentId }, effectOf(event.type, event, this.refunds));
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
