import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { ClientGrpc } from '@nestjs/microservices';
import { type CallOptions, Metadata } from '@grpc/grpc-js';
import { lastValueFrom, type Observable } from 'rxjs';
import { DomainError } from '#common/errors.js';
import { fromGrpcError } from '#common/grpc-status.js';
import { IDEMPOTENCY_KEY_METADATA } from '#contracts/grpc.js';
import {
  type CreatePaymentRequest,
  PAYMENT_SERVICE_NAME,
  type Payment,
  type PaymentServiceClient,
} from '#contracts/generated/payments/v1/payments.js';
import { ORDERS_CONFIG, type OrdersConfig } from '../config.js';

export const PAYMENTS_GRPC = Symbol('PAYMENTS_GRPC');

/** Nest's gRPC client forwards a third argument to grpc-js as its call options. */
type UnaryCall<Req, Res> = (req: Req, metadata: Metadata, options: CallOptions) => Observable<Res>;

/** The orders side of payments.v1.PaymentService: deadlines, metadata and error translation. */
@Injectable()
export class PaymentsClient implements OnModuleInit {
  private service!: PaymentServiceClient;

  constructor(
    @Inject(PAYMENTS_GRPC) private readonly grpc: ClientGrpc,
    @Inject(ORDERS_CONFIG) private readonly config: OrdersConfig,
  ) {}

  onModuleInit(): void {
    this.service = this.grpc.getService<PaymentServiceClient>(PAYMENT_SERVICE_NAME);
  }

  async createPayment(request: CreatePaymentRequest, idempotencyKey: string): Promise<Payment> {
    const metadata = new Metadata();
    metadata.set(IDEMPOTENCY_KEY_METADATA, idempotencyKey);
    const call = this.service.createPayment.bind(this.service) as UnaryCall<
      CreatePaymentRequest,
      { payment?: Payment }
    >;
    const response = await this.invoke(() => call(request, metadata, this.callOptions()));
    if (!response.payment)
      throw new DomainError('internal', 'payments answered without a payment.');
    return response.payment;
  }

  private async invoke<T>(call: () => Observable<T>): Promise<T> {
    try {
      return await lastValueFrom(call());
    } catch (error) {
      throw fromGrpcError(error, 'payments');
    }
  }

  private callOptions(): CallOptions {
    return { deadline: Date.now() + this.config.payments.timeoutMs };
  }
}
