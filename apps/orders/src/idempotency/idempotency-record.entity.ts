import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A response as it was sent, so that a replay is identical byte for byte. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

@Entity({ name: 'idempotency_keys' })
export class IdempotencyRecord {
  @PrimaryColumn('text', { name: 'customer_id' })
  customerId!: string;

  @PrimaryColumn('text')
  key!: string;

  @Column('text')
  fingerprint!: string;

  /** `in_flight` until a final response is stored, then `completed`. */
  @Column('text')
  state!: 'in_flight' | 'completed';

  /** Held by the request executing the key; NULL once released for a retry. */
  @Column('timestamptz', { name: 'locked_until', nullable: true })
  lockedUntil!: Date | null;

  /** Recovery point: the order this key created, so a retry resumes it instead of starting over. */
  @Column('uuid', { name: 'order_id', nullable: true })
  orderId!: string | null;

  @Column('integer', { name: 'response_status', nullable: true })
  responseStatus!: number | null;

  @Column('jsonb', { name: 'response_headers', nullable: true })
  responseHeaders!: Record<string, string> | null;

  @Column('text', { name: 'response_body', nullable: true })
  responseBody!: string | null;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'expires_at' })
  expiresAt!: Date;
}
