import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { type PreparedStatement, queryPrepared } from '#common/db/typeorm.js';
import { Transaction } from '../database/transaction.js';

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

/** A Stripe event as recorded: what it is, when Stripe made it, the PaymentIntent it concerns. */
export interface StripeEventRecord {
  id: string;
  type: string;
  /** Unix seconds, as Stripe sends `created`. */
  created: number;
  /** Undefined for an event payments does not apply. */
  paymentIntentId: string | undefined;
}

/** What recording an event found: a first delivery, and the payment it concerns if ours. */
export type RecordedEvent = { duplicate: true } | { duplicate: false; paymentId: string | null };

/** The stripe_events table: each event id once, so repeated deliveries change nothing. */
@Injectable()
export class StripeEventsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Records the event unless it was recorded before; `paymentId` is our payment with the event's
   * PaymentIntent (found under `tx`'s snapshot), null when there is none.
   */
  async record(tx: Transaction, event: StripeEventRecord): Promise<RecordedEvent> {
    const [row] = await queryPrepared<{ payment_id: string | null }>(
      Transaction.managerOf(tx, this.db),
      RECORD_EVENT,
      [event.id, event.type, event.created, event.paymentIntentId ?? null],
    );
    return row ? { duplicate: false, paymentId: row.payment_id } : { duplicate: true };
  }
}
