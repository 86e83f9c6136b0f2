import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { ClientGrpc } from '@nestjs/microservices';
import { type CallOptions, Metadata } from '@grpc/grpc-js';
import { lastValueFrom, type Observable } from 'rxjs';
import { bearer, SERVICE_AUTH_METADATA } from '#common/grpc-auth.js';
import { IDEMPOTENCY_KEY_METADATA } from '#contracts/grpc.js';
import { timedRpc } from '#observability/rpc-metrics.js';
import {
  ORDER_SERVICE_NAME,
  type OrderServiceClient,
  type UpdateOrderPaymentStatusRequest,
  type UpdateOrderPaymentStatusResponse,
} from '#contracts/generated/orders/v1/orders.js';
import { PAYMENTS_CONFIG, type PaymentsConfig } from '../config.js';

export const ORDERS_GRPC = Symbol('ORDERS_GRPC');

type UnaryCall<Req, Res> = (req: Req, metadata: Metadata, options: CallOptions) => Observable<Res>;

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
    const metadata = new Metadata();
    metadata.set(SERVICE_AUTH_METADATA, bearer(this.config.orders.token));
    metadata.set(IDEMPOTENCY_KEY_METADATA, idempotencyKey);
    const call = this.service.updateOrderPaymentStatus.bind(this.service) as UnaryCall<
      UpdateOrderPaymentStatusRequest,
      UpdateOrderPaymentStatusResponse
    >;
    return timedRpc('orders.v1.OrderService', 'UpdateOrderPaymentStatus', () =>
      lastValueFrom(
        call(request, metadata, { deadline: Date.now() + this.config.orders.timeoutMs }),
      ),
    );
  }
}
