import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '#common/db/typeorm.js';

/** `creating` until Stripe has the refund, then the Stripe Refund's own status. */
export type RefundState =
  'creating' | 'pending' | 'requires_action' | 'succeeded' | 'failed' | 'canceled';

@Entity({ name: 'refunds' })
export class Refund {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'payment_id' })
  paymentId!: string;

  @Column('bigint', { transformer: bigintAsNumber })
  amount!: number;

  @Column('char', { length: 3 })
  currency!: string;

  @Column('text')
  status!: RefundState;

  @Column('text', { nullable: true })
  reason!: string | null;

  @Column('text', { name: 'provider_refund_id', nullable: true })
  providerRefundId!: string | null;

  @Column('text', { name: 'failure_reason', nullable: true })
  failureReason!: string | null;

  @Column('text', { name: 'idempotency_key', nullable: true })
  idempotencyKey!: string | null;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;
}

/** Refunds that hold part of the payment: in progress or done. */
export const REFUND_HOLDING_STATES: RefundState[] = [
  'creating',
  'pending',
  'requires_action',
  'succeeded',
];
