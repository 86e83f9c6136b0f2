import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { type PreparedStatement, queryPrepared } from '#common/db/typeorm.js';
import { IdempotencyRecord, type StoredResponse } from './idempotency-record.entity.js';

export interface KeyRef {
  customerId: string;
  key: string;
}

/** Named, not `*`: a prepared statement's result type must not change under a later migration. */
const COLUMNS = `customer_id, key, fingerprint, state, locked_until, order_id, response_status,
  response_headers, response_body, created_at, expires_at`;

/**
 * Checkout's and replay's first statement: prepared once per connection (see queryPrepared).
 * Checkout's statements are exported for bench/reference, which runs them as they are.
 */
export const INSERT_OR_FIND: PreparedStatement = {
  name: 'idempotency-insert-or-find',
  text: `WITH inserted AS (
           INSERT INTO idempotency_keys
             (customer_id, key, fingerprint, state, locked_until, created_at, expires_at)
           VALUES ($1, $2, $3, 'in_flight', now() + $4 * interval '1 millisecond', now(),
                   now() + $5 * interval '1 hour')
           ON CONFLICT (customer_id, key) DO NOTHING
           RETURNING ${COLUMNS})
         SELECT *, true AS inserted, false AS expired FROM inserted
         UNION ALL
         SELECT ${COLUMNS}, false AS inserted, expires_at <= now() AS expired
           FROM idempotency_keys
          WHERE customer_id = $1 AND key = $2 AND NOT EXISTS (SELECT 1 FROM inserted)`,
};

/** A row of COLUMNS as pg returns it. */
interface KeyRow {
  customer_id: string;
  key: string;
  fingerprint: string;
  state: IdempotencyRecord['state'];
  locked_until: Date | null;
  order_id: string | null;
  response_status: number | null;
  response_headers: Record<string, string> | null;
  response_body: string | null;
  created_at: Date;
  expires_at: Date;
}

function recordFromRow(row: KeyRow): IdempotencyRecord {
  return Object.assign(new IdempotencyRecord(), {
    customerId: row.customer_id,
    key: row.key,
    fingerprint: row.fingerprint,
    state: row.state,
    lockedUntil: row.locked_until,
    orderId: row.order_id,
    responseStatus: row.response_status,
    responseHeaders: row.response_headers,
    responseBody: row.response_body,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  });
}

export const COMPLETE: PreparedStatement = {
  name: 'idempotency-complete',
  text: `UPDATE idempotency_keys
            SET state = 'completed', locked_until = NULL,
                response_status = $3, response_headers = $4, response_body = $5
          WHERE customer_id = $1 AND key = $2`,
};

/** A released key that created nothing is forgotten ($1 customer, $2 key). */
export const FORGET_UNUSED = `DELETE FROM idempotency_keys
  WHERE customer_id = $1 AND key = $2 AND state = 'in_flight' AND order_id IS NULL`;

/** A released key that has a recovery point stays, unlocked. */
export const UNLOCK = `UPDATE idempotency_keys SET locked_until = NULL
  WHERE customer_id = $1 AND key = $2 AND state = 'in_flight'`;

/**
 * Every decision about a key is one SQL statement, so the database settles races between
 * requests and between instances: a unique primary key for the first claim, conditional updates
 * for taking over an expired lock.
 */
@Injectable()
export class IdempotencyRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Inserts the key locked for this request (`inserted`), or else reads the key as it stands and
   * whether it has expired (by the database's clock), in one round trip. Undefined when the key
   * exists but was committed after this statement's snapshot was taken: ask again.
   */
  async insertOrFind(
    ref: KeyRef,
    fingerprint: string,
    lockMs: number,
    retentionHours: number,
  ): Promise<{ record: IdempotencyRecord; inserted: boolean; expired: boolean } | undefined> {
    const [row] = await queryPrepared<KeyRow & { inserted: boolean; expired: boolean }>(
      this.db.manager,
      INSERT_OR_FIND,
      [ref.customerId, ref.key, fingerprint, lockMs, retentionHours],
    );
    return row && { record: recordFromRow(row), inserted: row.inserted, expired: row.expired };
  }

  /** Takes the lock of an in-flight key whose holder released it or ran out of time. */
  async takeOver(ref: KeyRef, lockMs: number): Promise<IdempotencyRecord | undefined> {
    // TypeORM answers an UPDATE with [rows, count].
    const [[row]] = await this.db.query<[KeyRow[], number]>(
      `UPDATE idempotency_keys SET locked_until = now() + $3 * interval '1 millisecond'
        WHERE customer_id = $1 AND key = $2 AND state = 'in_flight'
          AND (locked_until IS NULL OR locked_until <= now()) AND expires_at > now()
       RETURNING ${COLUMNS}`,
      [ref.customerId, ref.key, lockMs],
    );
    return row && recordFromRow(row);
  }

  async deleteIfExpired(ref: KeyRef): Promise<void> {
    await this.db.query(
      'DELETE FROM idempotency_keys WHERE customer_id = $1 AND key = $2 AND expires_at <= now()',
      [ref.customerId, ref.key],
    );
  }

  async complete(ref: KeyRef, response: StoredResponse): Promise<void> {
    await queryPrepared(this.db.manager, COMPLETE, [
      ref.customerId,
      ref.key,
      response.status,
      response.headers,
      response.body,
    ]);
  }

  /**
   * Gives the key back for a retry after a transient failure. A key that created nothing is
   * forgotten; one with a recovery point stays, unlocked, so the retry resumes its order.
   */
  async release(ref: KeyRef): Promise<void> {
    await this.db.query(FORGET_UNUSED, [ref.customerId, ref.key]);
    await this.db.query(UNLOCK, [ref.customerId, ref.key]);
  }

  /** Deletes up to `batch` expired keys; returns how many. */
  async deleteExpired(batch: number): Promise<number> {
    const [, count] = await this.db.query<[unknown[], number]>(
      `DELETE FROM idempotency_keys WHERE ctid IN (
         SELECT ctid FROM idempotency_keys WHERE expires_at <= now() LIMIT $1)`,
      [batch],
    );
    return count;
  }
}
