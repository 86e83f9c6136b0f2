import { toTimestamp } from '#contracts/grpc.js';
import {
  type Order as OrderMessage,
  OrderStatus as OrderStatusMessage,
} from '#contracts/generated/orders/v1/orders.js';
import type { OrderStatus } from './order-status.js';
import type { Order } from './order.entity.js';

const STATUS_MESSAGES: Record<OrderStatus, OrderStatusMessage> = {
  pending_payment: OrderStatusMessage.ORDER_STATUS_PENDING_PAYMENT,
  awaiting_payment: OrderStatusMessage.ORDER_STATUS_AWAITING_PAYMENT,
  paid: OrderStatusMessage.ORDER_STATUS_PAID,
  payment_failed: OrderStatusMessage.ORDER_STATUS_PAYMENT_FAILED,
  canceled: OrderStatusMessage.ORDER_STATUS_CANCELED,
  partially_refunded: OrderStatusMessage.ORDER_STATUS_PARTIALLY_REFUNDED,
  refunded: OrderStatusMessage.ORDER_STATUS_REFUNDED,
  disputed: OrderStatusMessage.ORDER_STATUS_DISPUTED,
};

/** An order as the gRPC contract (orders.v1.Order) carries it. */
export function toOrderMessage(order: Order): OrderMessage {
  return {
    id: order.id,
    customerId: order.customerId,
    status: STATUS_MESSAGES[order.status],
    total: { amount: String(order.amount), currency: order.currency },
    items: order.items.map((item) => ({
      sku: item.sku,
      name: item.name,
      quantity: item.quantity,
      unitAmount: String(item.unitAmount),
    })),
    paymentId: order.paymentId ?? '',
    createTime: toTimestamp(order.createdAt),
    updateTime: toTimestamp(order.updatedAt),
  };
}
