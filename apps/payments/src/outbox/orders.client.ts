import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { ClientGrpc } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { callMetadata, callWithDeadline } from '#common/grpc/channel.js';
import { timedRpc } from '#observability/rpc-metrics.js';
import {
  ORDER_SERVICE_NAME,
  type OrderServiceClient,
  type UpdateOrderPaymentStatusRequest,
  type UpdateOrderPaymentStatusResponse,
} from '#contracts/generated/orders/v1/orders.js';
import { PAYMENTS_CONFIG, type PaymentsConfig } from '../config.js';

export const ORDERS_GRPC = Symbol('ORDERS_GRPC');

/** payments' side of orders.v1.OrderService. Retrying is the outbox relay's business. */
@Injectable()
export class OrdersClient implements OnModuleInit {
  private service!: OrderServiceClient;

  constructor(
    @Inject(ORDERS_GRPC) private readonly grpc: ClientGrpc,
    @Inject(PAYMENTS_CONFIG) private readonly config: PaymentsConfig,
  ) {}

  onModuleInit(): void {
    this.service = this.grpc.getService<OrderServiceClient>(ORDER_SERVICE_NAME);
  }

  async updateOrderPaymentStatus(
    request: UpdateOrderPaymentStatusRequest,
    idempotencyKey: string,
  ): Promise<UpdateOrderPaymentStatusResponse> {
    const { token, timeoutMs } = this.config.orders;
    const call = this.service.updateOrderPaymentStatus.bind(this.service);
    return timedRpc('orders.v1.OrderService', 'UpdateOrderPaymentStatus', () =>
      lastValueFrom(
        callWithDeadline(call, request, callMetadata(token, idempotencyKey), timeoutMs),
      ),
    );
  }
}
