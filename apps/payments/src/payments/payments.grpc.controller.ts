import { Controller, UseFilters, UseInterceptors } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata } from '@grpc/grpc-js';
import { GrpcMetricsInterceptor } from '#common/grpc/metrics.interceptor.js';
import { requireIdempotencyKey } from '#common/grpc/idempotency.js';
import { GrpcErrorFilter } from '#common/grpc/status.js';
import type {
  CancelPaymentRequest,
  CancelPaymentResponse,
  CreatePaymentRequest,
  CreatePaymentResponse,
  GetPaymentRequest,
  GetPaymentResponse,
  PaymentServiceController,
} from '#contracts/generated/payments/v1/payments.js';
import { toPaymentMessage } from './payment.message.js';
import { PaymentsService } from './payments.service.js';

/** payments.v1.PaymentService's payment calls. ProcessRefund is served by the refunds area. */
@Controller()
@UseFilters(GrpcErrorFilter)
@UseInterceptors(new GrpcMetricsInterceptor('payments.v1.PaymentService'))
export class PaymentsGrpcController implements Pick<
  PaymentServiceController,
  'createPayment' | 'getPayment' | 'cancelPayment'
> {
  constructor(private readonly payments: PaymentsService) {}

  @GrpcMethod('PaymentService', 'createPayment')
  async createPayment(
    request: CreatePaymentRequest,
    metadata?: Metadata,
  ): Promise<CreatePaymentResponse> {
    const key = requireIdempotencyKey(metadata);
    const payment = await this.payments.createPayment(
      {
        orderId: request.orderId,
        customerId: request.customerId,
        amount: request.amount?.amount ?? '',
        currency: request.amount?.currency ?? '',
      },
      key,
    );
    return { payment: toPaymentMessage(payment) };
  }

  @GrpcMethod('PaymentService', 'getPayment')
  async getPayment(request: GetPaymentRequest): Promise<GetPaymentResponse> {
    const payment = await this.payments.getPayment(request.paymentId, request.refresh);
    return { payment: toPaymentMessage(payment) };
  }

  @GrpcMethod('PaymentService', 'cancelPayment')
  async cancelPayment(
    request: CancelPaymentRequest,
    metadata?: Metadata,
  ): Promise<CancelPaymentResponse> {
    requireIdempotencyKey(metadata);
    return { payment: toPaymentMessage(await this.payments.cancelPayment(request.paymentId)) };
  }
}
