import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '#common/db/typeorm.js';
import type { PaymentState } from './payment-state.js';

@Entity({ name: 'payments' })
export class Payment {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'order_id' })
  orderId!: string;

  @Column('text', { name: 'customer_id' })
  customerId!: string;

  /** Minor units of `currency`. */
  @Column('bigint', { transformer: bigintAsNumber })
  amount!: number;

  @Column('char', { length: 3 })
  currency!: string;

  @Column('text')
  status!: PaymentState;

  @Column('text', { name: 'provider_payment_id', nullable: true })
  providerPaymentId!: string | null;

  @Column('text', { name: 'client_secret', nullable: true })
  clientSecret!: string | null;

  /** Increases with every change; orders ignores notifications not newer than what it has. */
  @Column('bigint', { transformer: bigintAsNumber })
  version!: number;

  /** Sum of succeeded refunds, in minor units. */
  @Column('bigint', { name: 'amount_refunded', transformer: bigintAsNumber })
  amountRefunded!: number;

  @Column('text', { name: 'failure_code', nullable: true })
  failureCode!: string | null;

  @Column('text', { name: 'failure_message', nullable: true })
  failureMessage!: string | null;

  @Column('text', { name: 'latest_charge_id', nullable: true })
  latestChargeId!: string | null;

  @Column('text', { name: 'receipt_url', nullable: true })
  receiptUrl!: string | null;

  @Column('boolean')
  disputed!: boolean;

  /** When Stripe produced the status we hold (the event's time): older news is ignored. */
  @Column('timestamptz', { name: 'stripe_status_at', nullable: true })
  stripeStatusAt!: Date | null;

  /** W3C traceparent of the checkout that created the payment; webhook traces link to it. */
  @Column('text', { name: 'checkout_traceparent', nullable: true })
  checkoutTraceparent!: string | null;

  /** The idempotency key of the CreatePayment call that created the payment. */
  @Column('text', { name: 'create_idempotency_key', nullable: true })
  createIdempotencyKey!: string | null;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;
}
