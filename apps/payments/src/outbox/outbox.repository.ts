import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type PreparedStatement, queryPrepared } from '#common/db/typeorm.js';
import { DataSource } from 'typeorm';
import { Untraced } from '#observability/spans.js';
import type { UpdateOrderPaymentStatusRequest } from '#contracts/generated/orders/v1/orders.js';

export interface OutboxMessage {
  id: string;
  paymentId: string;
  payload: UpdateOrderPaymentStatusRequest;
  /** Failed deliveries so far, whatever the cause. */
  attempts: number;
  /** Permanent refusals by orders so far (see outbox-retry.ts). */
  refusals: number;
  /** The trace of the change that queued it; the delivery continues it. */
  traceparent: string | null;
}

/** What became of one claimed notification: `error` null when orders accepted it. */
export interface OutboxOutcome {
  id: string;
  error: string | null;
  /** When `error` is set: how long until the next attempt. */
  retryInMs: number;
  /** orders refused it permanently (counts towards parking). */
  refused: boolean;
  /** Stop retrying it: parked until an operator replays it. */
  park: boolean;
}

export interface OutboxBacklog {
  /** Notifications still being retried. */
  pending: number;
  /** Age of the oldest of them, in seconds (0 when none). */
  oldestPendingSeconds: number;
  /** Notifications orders refused for good, waiting for an operator (npm run outbox:replay). */
  parked: number;
}

/** A parked notification, as the operator command lists it. */
export interface ParkedNotification {
  id: string;
  paymentId: string;
  orderId: string;
  paymentVersion: string;
  parkedAt: Date;
  /** The last refusal: gRPC status code, its name and orders' message. */
  reason: string | null;
}

const CLAIM_DUE: PreparedStatement = {
  name: 'outbox-claim-due',
  text: `UPDATE outbox SET next_attempt_at = now() + $2 * interval '1 millisecond'
          WHERE id IN (SELECT id FROM outbox
                        WHERE delivered_at IS NULL AND parked_at IS NULL
                          AND next_attempt_at <= now()
                        ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, payment_id, payload, attempts, refusals, traceparent`,
};

const SETTLE: PreparedStatement = {
  name: 'outbox-settle',
  text: `UPDATE outbox
            SET delivered_at = CASE WHEN o.error IS NULL THEN now() END,
                attempts = outbox.attempts + CASE WHEN o.error IS NULL THEN 0 ELSE 1 END,
                refusals = outbox.refusals + CASE WHEN o.refused THEN 1 ELSE 0 END,
                last_error = coalesce(o.error, outbox.last_error),
                parked_at = CASE WHEN o.park THEN now() END,
                next_attempt_at = CASE WHEN o.error IS NULL THEN outbox.next_attempt_at
                                       ELSE now() + o.retry_in_ms * interval '1 millisecond' END
           FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bool[], $5::bool[])
                AS o(id, error, retry_in_ms, refused, park)
          WHERE outbox.id = o.id`,
};

const PARKED_COLUMNS = `id, payment_id, payload->>'orderId' AS order_id,
  payload->>'paymentVersion' AS payment_version, parked_at, last_error`;

interface ParkedRow {
  id: string;
  payment_id: string;
  order_id: string;
  payment_version: string;
  parked_at: Date;
  last_error: string | null;
}

const parkedFromRow = (row: ParkedRow): ParkedNotification => ({
  id: String(row.id),
  paymentId: row.payment_id,
  orderId: row.order_id,
  paymentVersion: row.payment_version,
  parkedAt: row.parked_at,
  reason: row.last_error,
});

/**
 * The outbox table. The relay's queries (claim, settle, backlog) make no spans of their own: an
 * idle poll twice a second would flood the traces; each delivery is a span in the trace of the
 * change it announces.
 */
@Injectable()
export class OutboxRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Claims up to `batchSize` due notifications in one statement: each is leased to this relay
   * for `leaseMs` (its next attempt moves past the lease, so other relays skip it) without a
   * transaction held open while it is delivered. A relay that dies mid-delivery leaves its batch
   * to be claimed again when the lease runs out; deliveries are idempotent on orders' side.
   */
  @Untraced()
  async claimDue(batchSize: number, leaseMs: number): Promise<OutboxMessage[]> {
    const rows = await queryPrepared<{
      id: string;
      payment_id: string;
      payload: UpdateOrderPaymentStatusRequest;
      attempts: number;
      refusals: number;
      traceparent: string | null;
    }>(this.db.manager, CLAIM_DUE, [batchSize, leaseMs]);
    return rows.map((row) => ({
      id: String(row.id),
      paymentId: row.payment_id,
      payload: row.payload,
      attempts: row.attempts,
      refusals: row.refusals,
      traceparent: row.traceparent,
    }));
  }

  /**
   * Records a claimed batch's outcomes in one statement: delivered ones are done; each failed one
   * counts an attempt, keeps its error and waits `retryInMs` before it is due again, or is
   * parked (never claimed again until replayed).
   */
  @Untraced()
  async settle(outcomes: OutboxOutcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    await queryPrepared(this.db.manager, SETTLE, [
      outcomes.map((o) => o.id),
      outcomes.map((o) => o.error),
      outcomes.map((o) => o.retryInMs),
      outcomes.map((o) => o.refused),
      outcomes.map((o) => o.park),
    ]);
  }

  /** Table-wide counts: every instance reads the same numbers. */
  @Untraced()
  async backlog(): Promise<OutboxBacklog> {
    const [row] = await this.db.query<{ pending: number; oldest: number | null; parked: number }[]>(
      `SELECT count(*) FILTER (WHERE parked_at IS NULL)::int AS pending,
              extract(epoch FROM now() - min(created_at) FILTER (WHERE parked_at IS NULL))::float8
                AS oldest,
              count(*) FILTER (WHERE parked_at IS NOT NULL)::int AS parked
         FROM outbox WHERE delivered_at IS NULL`,
    );
    return {
      pending: row?.pending ?? 0,
      oldestPendingSeconds: Math.round(row?.oldest ?? 0),
      parked: row?.parked ?? 0,
    };
  }

  /** Parked notifications, oldest first; only `paymentId`'s when given. */
  async parked(paymentId?: string): Promise<ParkedNotification[]> {
    const rows = await this.db.query<ParkedRow[]>(
      `SELECT ${PARKED_COLUMNS} FROM outbox
        WHERE parked_at IS NOT NULL AND ($1::uuid IS NULL OR payment_id = $1)
        ORDER BY id`,
      [paymentId ?? null],
    );
    return rows.map(parkedFromRow);
  }

  /**
   * Re-queues parked notifications (all, or `paymentId`'s) as new: no attempts, due now. The
   * running relays deliver them at their next poll. Returns what was re-queued.
   */
  async replay(paymentId?: string): Promise<ParkedNotification[]> {
    const [rows] = await this.db.query<[ParkedRow[], number]>(
      `WITH replayed AS (SELECT id, parked_at FROM outbox
                          WHERE parked_at IS NOT NULL AND ($1::uuid IS NULL OR payment_id = $1)
                          FOR UPDATE)
       UPDATE outbox SET parked_at = NULL, attempts = 0, refusals = 0, next_attempt_at = now()
         FROM replayed WHERE outbox.id = replayed.id
       RETURNING outbox.id, payment_id, payload->>'orderId' AS order_id,
                 payload->>'paymentVersion' AS payment_version, replayed.parked_at, last_error`,
      [paymentId ?? null],
    );
    return rows.map(parkedFromRow).sort((a, b) => Number(a.id) - Number(b.id));
  }
}
