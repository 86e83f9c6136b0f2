import { Controller, UseFilters, UseInterceptors } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata } from '@grpc/grpc-js';
import { GrpcMetricsInterceptor } from '#common/grpc/metrics.interceptor.js';
import { requireIdempotencyKey } from '#common/grpc/idempotency.js';
import { GrpcErrorFilter } from '#common/grpc/status.js';
import type {
  PaymentServiceController,
  ProcessRefundRequest,
  ProcessRefundResponse,
} from '#contracts/generated/payments/v1/payments.js';
import { toPaymentMessage } from '../payments/payment.message.js';
import { toRefundMessage } from './refund.message.js';
import { RefundsService } from './refunds.service.js';

/** payments.v1.PaymentService/ProcessRefund. */
@Controller()
@UseFilters(GrpcErrorFilter)
@UseInterceptors(new GrpcMetricsInterceptor('payments.v1.PaymentService'))
export class RefundsGrpcController implements Pick<PaymentServiceController, 'processRefund'> {
  constructor(private readonly refunds: RefundsService) {}

  @GrpcMethod('PaymentService', 'processRefund')
  async processRefund(
    request: ProcessRefundRequest,
    metadata?: Metadata,
  ): Promise<ProcessRefundResponse> {
    const key = requireIdempotencyKey(metadata);
    const { refund, payment } = await this.refunds.processRefund(
      { paymentId: request.paymentId, amount: request.amount, reason: request.reason },
      key,
    );
    return { refund: toRefundMessage(refund), payment: toPaymentMessage(payment) };
  }
}
