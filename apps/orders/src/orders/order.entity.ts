import { Column, Entity, OneToMany, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '#common/db/typeorm.js';
import type { CurrencyCode } from '#common/money.js';
import type { OrderStatus } from './order-status.js';
import { OrderItem } from './order-item.entity.js';

@Entity({ name: 'orders' })
export class Order {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('text', { name: 'customer_id' })
  customerId!: string;

  @Column('text')
  status!: OrderStatus;

  @Column('char', { length: 3 })
  currency!: CurrencyCode;

  /** Total in minor units, computed by the server from the items. */
  @Column('bigint', { transformer: bigintAsNumber })
  amount!: number;

  @OneToMany(() => OrderItem, (item) => item.order, { cascade: ['insert'] })
  items!: OrderItem[];

  @Column('uuid', { name: 'payment_id', nullable: true })
  paymentId!: string | null;

  /** The payment's status as payments last reported it (a Stripe PaymentIntent status). */
  @Column('text', { name: 'payment_status', nullable: true })
  paymentStatus!: string | null;

  /** Handed to the order's owner only, to confirm the payment in the browser. */
  @Column('text', { name: 'payment_client_secret', nullable: true })
  paymentClientSecret!: string | null;

  /** The payment version last applied (int64 as a decimal string); 0 before any. */
  @Column('bigint', { name: 'payment_version', default: '0' })
  paymentVersion!: string;

  /** Minor units refunded so far, as payments last reported it. */
  @Column('bigint', { name: 'amount_refunded', transformer: bigintAsNumber, default: 0 })
  amountRefunded!: number;

  @Column('boolean', { name: 'payment_disputed', default: false })
  paymentDisputed!: boolean;

  /** Why the last attempt to pay failed (Stripe's code), null when it did not. */
  @Column('text', { name: 'payment_failure_code', nullable: true })
  paymentFailureCode!: string | null;

  /** Not to be reconciled with payments before this time (see PaymentReconciliation). */
  @Column('timestamptz', { name: 'reconcile_after', nullable: true })
  reconcileAfter!: Date | null;

  /** Reconciliation checks in a row that found nothing new; each doubles the next delay. */
  @Column('integer', { name: 'reconcile_attempts', default: 0 })
  reconcileAttempts!: number;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;
}
