import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager, In } from 'typeorm';
import type { OrderCursor } from './order-cursor.js';
import { OrderItem } from './order-item.entity.js';
import { statusesLeadingTo } from './order-status.js';
import { Order } from './order.entity.js';

export interface AttachedPayment {
  paymentId: string;
  paymentStatus: string;
  clientSecret: string;
  updatedAt: Date;
}

@Injectable()
export class OrdersRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Inserts the order and its items, and runs `alongside` in the same transaction. */
  async insert(order: Order, alongside?: (tx: EntityManager) => Promise<void>): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.insert(Order, { ...order, items: undefined });
      await tx.insert(OrderItem, order.items);
      await alongside?.(tx);
    });
  }

  findForCustomer(id: string, customerId: string): Promise<Order | null> {
    return this.db.getRepository(Order).findOne({
      where: { id, customerId },
      relations: { items: true },
      order: { items: { position: 'ASC' } },
    });
  }

  findById(id: string): Promise<Order | null> {
    return this.db.getRepository(Order).findOne({
      where: { id },
      relations: { items: true },
      order: { items: { position: 'ASC' } },
    });
  }

  /** One page of a customer's orders, newest first, strictly after the cursor. */
  async listForCustomer(customerId: string, limit: number, after?: OrderCursor): Promise<Order[]> {
    const query = this.db
      .getRepository(Order)
      .createQueryBuilder('o')
      .where('o.customer_id = :customerId', { customerId })
      .orderBy('o.created_at', 'DESC')
      .addOrderBy('o.id', 'DESC')
      .limit(limit);
    if (after) {
      query.andWhere('(o.created_at, o.id) < (:createdAt, :id)', {
        createdAt: after.createdAt,
        id: after.id,
      });
    }
    const orders = await query.getMany();
    if (orders.length === 0) return orders;
    const items = await this.db.getRepository(OrderItem).find({
      where: { orderId: In(orders.map((o) => o.id)) },
      order: { position: 'ASC' },
    });
    const byOrder = Map.groupBy(items, (item) => item.orderId);
    for (const order of orders) order.items = byOrder.get(order.id) ?? [];
    return orders;
  }

  /**
   * Moves the order to awaiting_payment with its payment. The database decides: the update only
   * applies from a state the transition table allows, and never swaps one payment for another.
   * Returns whether the row changed.
   */
  async attachPayment(orderId: string, payment: AttachedPayment): Promise<boolean> {
    const result = await this.db
      .createQueryBuilder()
      .update(Order)
      .set({
        status: 'awaiting_payment',
        paymentId: payment.paymentId,
        paymentStatus: payment.paymentStatus,
        paymentClientSecret: payment.clientSecret,
        updatedAt: payment.updatedAt,
      })
      .where('id = :orderId', { orderId })
      .andWhere('status IN (:...from)', { from: statusesLeadingTo('awaiting_payment') })
      .andWhere('(payment_id IS NULL OR payment_id = :paymentId)', { paymentId: payment.paymentId })
      .execute();
    return (result.affected ?? 0) > 0;
  }
}
