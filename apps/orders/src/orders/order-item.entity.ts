import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '#common/db/typeorm.js';
import type { Order } from './order.entity.js';

@Entity({ name: 'order_items' })
export class OrderItem {
  @PrimaryColumn('uuid', { name: 'order_id' })
  orderId!: string;

  /** Position of the line in the order as the customer sent it. */
  @PrimaryColumn('smallint')
  position!: number;

  @ManyToOne('Order', (order: Order) => order.items, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'order_id' })
  order?: Order;

  @Column('text')
  sku!: string;

  @Column('text')
  name!: string;

  @Column('integer')
  quantity!: number;

  @Column('bigint', { name: 'unit_amount', transformer: bigintAsNumber })
  unitAmount!: number;
}
