import { Column, Entity, OneToMany, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '#common/typeorm.js';
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

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;
}
