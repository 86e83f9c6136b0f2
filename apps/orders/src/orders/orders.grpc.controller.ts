import { Controller, UseFilters, UseInterceptors } from '@nestjs/common';
import type { Metadata } from '@grpc/grpc-js';
import { GrpcMetricsInterceptor } from '#common/grpc/metrics.interceptor.js';
import { requireIdempotencyKey } from '#common/grpc/idempotency.js';
import { GrpcErrorFilter } from '#common/grpc/status.js';
import { toTimestamp } from '#contracts/grpc.js';
import {
  type GetOrderRequest,
  type GetOrderResponse,
  type Order as OrderMessage,
  type OrderServiceController,
  OrderServiceControllerMethods,
  OrderStatus as OrderStatusMessage,
  type UpdateOrderPaymentStatusRequest,
  type UpdateOrderPaymentStatusResponse,
} from '#contracts/generated/orders/v1/orders.js';
import type { OrderStatus } from './order-status.js';
import type { Order } from './order.entity.js';
import { OrdersService } from './orders.service.js';
import { PaymentUpdatesService } from './payment-updates.service.js';
import { parseGrpcSnapshot } from './payment-snapshot.js';

@Controller()
@UseFilters(GrpcErrorFilter)
@UseInterceptors(new GrpcMetricsInterceptor('orders.v1.OrderService'))
@OrderServiceControllerMethods()
export class OrdersGrpcController implements OrderServiceController {
  constructor(
    private readonly orders: OrdersService,
    private readonly paymentUpdates: PaymentUpdatesService,
  ) {}

  async getOrder(request: GetOrderRequest): Promise<GetOrderResponse> {
    return { order: toMessage(await this.orders.getOrderById(request.orderId)) };
  }

  /**
   * payments' notifications. The key is required like on every mutating call, but repeats are
   * recognised by the payment version: a version already applied changes nothing.
   */
  async updateOrderPaymentStatus(
    request: UpdateOrderPaymentStatusRequest,
    metadata?: Metadata,
  ): Promise<UpdateOrderPaymentStatusResponse> {
    requireIdempotencyKey(metadata);
    const order = await this.paymentUpdates.apply(parseGrpcSnapshot(request), 'payment_update');
    return { order: toMessage(order) };
  }
}

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

function toMessage(order: Order): OrderMessage {
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
