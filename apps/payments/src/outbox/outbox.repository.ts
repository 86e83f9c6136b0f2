import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { queryPrepared } from '#common/typeorm.js';
import { DataSource, type EntityManager } from 'typeorm';
import type { UpdateOrderPaymentStatusRequest } from '#contracts/generated/orders/v1/orders.js';

export interface OutboxMessage {
  id: string;
  paymentId: string;
  payload: UpdateOrderPaymentStatusRequest;
  attempts: number;
  /** The trace of the change that queued it; the delivery continues it. */
  traceparent: string | null;
}

export interface OutboxBacklog {
  pending: number;
  /** Age of the oldest undelivered notification, in seconds (0 when none). */
  oldestPendingSeconds: number;
}

@Injectable()
export class OutboxRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Adds a notification inside the caller's transaction (the one changing the payment), in the
   * same statement as `change` (an UPDATE or INSERT whose parameters are $1..$n, one SQL text per
   * name), so that saving a change and queueing its notification is one round trip.
   */
  async addWith(
    tx: EntityManager,
    paymentId: string,
    payload: UpdateOrderPaymentStatusRequest,
    traceparent: string | null,
    change: { name: string; sql: string; parameters: unknown[] },
  ): Promise<void> {
    const n = change.parameters.length;
    await queryPrepared(
      tx,
      {
        // One SQL text per change name: pg prepares each name once per connection.
        name: `${change.name}+outbox`,
        text: `WITH change AS (${change.sql})
               INSERT INTO outbox (payment_id, payload, traceparent)
               VALUES ($${n + 1}, $${n + 2}, $${n + 3})`,
      },
      [...change.parameters, paymentId, payload, traceparent],
    );
  }

  /**
   * Runs `deliver` on a batch of due notifications, each locked for this relay (other relays skip
   * them), then records what was delivered and reschedules the rest, all in one transaction.
   */
  async processDue(
    batchSize: number,
    deliver: (messages: OutboxMessage[]) => Promise<Map<string, string | null>>,
    backoffMs: (attempts: number) => number,
  ): Promise<number> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<
        {
          id: string;
          payment_id: string;
          payload: UpdateOrderPaymentStatusRequest;
          attempts: number;
          traceparent: string | null;
        }[]
      >(
        `SELECT id, payment_id, payload, attempts, traceparent FROM outbox
          WHERE delivered_at IS NULL AND next_attempt_at <= now()
          ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [batchSize],
      );
      if (rows.length === 0) return 0;
      const results = await deliver(
        rows.map((row) => ({
          id: String(row.id),
          paymentId: row.payment_id,
          payload: row.payload,
          attempts: row.attempts,
          traceparent: row.traceparent,
        })),
      );
      const delivered = rows.filter((row) => results.get(String(row.id)) === null);
      if (delivered.length > 0) {
        await tx.query('UPDATE outbox SET delivered_at = now() WHERE id = ANY($1)', [
          delivered.map((row) => row.id),
        ]);
      }
      for (const row of rows) {
        const error = results.get(String(row.id));
        if (error === null) continue;
        await tx.query(
          `UPDATE outbox SET attempts = attempts + 1, last_error = $2,
                  next_attempt_at = now() + $3 * interval '1 millisecond'
            WHERE id = $1`,
          [row.id, error ?? 'not attempted', backoffMs(row.attempts + 1)],
        );
      }
      return delivered.length;
    });
  }

  async backlog(): Promise<OutboxBacklog> {
    const [row] = await this.db.query<{ pending: number; oldest: number | null }[]>(
      `SELECT count(*)::int AS pending,
              extract(epoch FROM now() - min(created_at))::float8 AS oldest
         FROM outbox WHERE delivered_at IS NULL`,
    );
    return { pending: row?.pending ?? 0, oldestPendingSeconds: Math.round(row?.oldest ?? 0) };
  }
}
