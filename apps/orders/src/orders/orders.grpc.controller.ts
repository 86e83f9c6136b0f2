import { Controller, UseFilters, UseInterceptors } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { GrpcMetricsInterceptor } from '#common/grpc/metrics.interceptor.js';
import { GrpcErrorFilter } from '#common/grpc/status.js';
import type {
  GetOrderRequest,
  GetOrderResponse,
  OrderServiceController,
} from '#contracts/generated/orders/v1/orders.js';
import { toOrderMessage } from './order.message.js';
import { OrdersService } from './orders.service.js';

/** orders.v1.OrderService's reads. Its payment update is served beside the HTTP push. */
@Controller()
@UseFilters(GrpcErrorFilter)
@UseInterceptors(new GrpcMetricsInterceptor('orders.v1.OrderService'))
export class OrdersGrpcController implements Pick<OrderServiceController, 'getOrder'> {
  constructor(private readonly orders: OrdersService) {}

  @GrpcMethod('OrderService', 'getOrder')
  async getOrder(request: GetOrderRequest): Promise<GetOrderResponse> {
    return { order: toOrderMessage(await this.orders.getOrderById(request.orderId)) };
  }
}
