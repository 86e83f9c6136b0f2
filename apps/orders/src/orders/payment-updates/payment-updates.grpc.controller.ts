import { Controller, UseFilters, UseInterceptors } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata } from '@grpc/grpc-js';
import { GrpcMetricsInterceptor } from '#common/grpc/metrics.interceptor.js';
import { requireIdempotencyKey } from '#common/grpc/idempotency.js';
import { GrpcErrorFilter } from '#common/grpc/status.js';
import type {
  OrderServiceController,
  UpdateOrderPaymentStatusRequest,
  UpdateOrderPaymentStatusResponse,
} from '#contracts/generated/orders/v1/orders.js';
import { toOrderMessage } from '../order.message.js';
import { parseGrpcSnapshot } from './payment-snapshot.js';
import { PaymentUpdatesService } from './payment-updates.service.js';

/** payments' notifications over gRPC (orders.v1.OrderService/UpdateOrderPaymentStatus). */
@Controller()
@UseFilters(GrpcErrorFilter)
@UseInterceptors(new GrpcMetricsInterceptor('orders.v1.OrderService'))
export class PaymentUpdatesGrpcController implements Pick<
  OrderServiceController,
  'updateOrderPaymentStatus'
> {
  constructor(private readonly paymentUpdates: PaymentUpdatesService) {}

  /**
   * The key is required like on every mutating call, but repeats are recognised by the payment
   * version: a version already applied changes nothing.
   */
  @GrpcMethod('OrderService', 'updateOrderPaymentStatus')
  async updateOrderPaymentStatus(
    request: UpdateOrderPaymentStatusRequest,
    metadata?: Metadata,
  ): Promise<UpdateOrderPaymentStatusResponse> {
    requireIdempotencyKey(metadata);
    const order = await this.paymentUpdates.apply(parseGrpcSnapshot(request), 'payment_update');
    return { order: toOrderMessage(order) };
  }
}
