import { Controller, UseFilters, UseInterceptors } from '@nestjs/common';
import type { Metadata } from '@grpc/grpc-js';
import { GrpcMetricsInterceptor } from '#common/grpc/metrics.interceptor.js';
import { requireIdempotencyKey } from '#common/grpc/idempotency.js';
import { GrpcErrorFilter } from '#common/grpc/status.js';
import { toTimestamp } from '#contracts/grpc.js';
import {
  type CreatePaymentRequest,
  type CreatePaymentResponse,
  type GetPaymentRequest,
  type GetPaymentResponse,
  type Payment as PaymentMessage,
  type PaymentServiceController,
  PaymentServiceControllerMethods,
  type ProcessRefundRequest,
  type ProcessRefundResponse,
  type CancelPaymentRequest,
  type CancelPaymentResponse,
  type Refund as RefundMessage,
  RefundStatus,
} from '#contracts/generated/payments/v1/payments.js';
import type { Refund, RefundState } from '../refunds/refund.entity.js';
import { RefundsService } from '../refunds/refunds.service.js';
import type { Payment } from './payment.entity.js';
import { toProtoStatus } from './payment-state.js';
import { PaymentsService } from './payments.service.js';

@Controller()
@UseFilters(GrpcErrorFilter)
@UseInterceptors(new GrpcMetricsInterceptor('payments.v1.PaymentService'))
@PaymentServiceControllerMethods()
export class PaymentsGrpcController implements PaymentServiceController {
  constructor(
    private readonly payments: PaymentsService,
    private readonly refunds: RefundsService,
  ) {}

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
    return { payment: toMessage(payment) };
  }

  async getPayment(request: GetPaymentRequest): Promise<GetPaymentResponse> {
    const payment = await this.payments.getPayment(request.paymentId, request.refresh);
    return { payment: toMessage(payment) };
  }

  async cancelPayment(
    request: CancelPaymentRequest,
    metadata?: Metadata,
  ): Promise<CancelPaymentResponse> {
    requireIdempotencyKey(metadata);
    return { payment: toMessage(await this.payments.cancelPayment(request.paymentId)) };
  }

  async processRefund(
    request: ProcessRefundRequest,
    metadata?: Metadata,
  ): Promise<ProcessRefundResponse> {
    const key = requireIdempotencyKey(metadata);
    const { refund, payment } = await this.refunds.processRefund(
      { paymentId: request.paymentId, amount: request.amount, reason: request.reason },
      key,
    );
    return { refund: toRefundMessage(refund), payment: toMessage(payment) };
  }
}

function toMessage(payment: Payment): PaymentMessage {
  return {
    id: payment.id,
    orderId: payment.orderId,
    customerId: payment.customerId,
    status: toProtoStatus(payment.status),
    amount: { amount: String(payment.amount), currency: payment.currency },
    clientSecret: payment.clientSecret ?? '',
    providerPaymentId: payment.providerPaymentId ?? '',
    createTime: toTimestamp(payment.createdAt),
    updateTime: toTimestamp(payment.updatedAt),
    amountRefunded: String(payment.amountRefunded),
    failureCode: payment.failureCode ?? '',
    failureMessage: payment.failureMessage ?? '',
    receiptUrl: payment.receiptUrl ?? '',
    disputed: payment.disputed,
    version: String(payment.version),
  };
}

const REFUND_STATUSES: Record<RefundState, RefundStatus> = {
  creating: RefundStatus.REFUND_STATUS_PENDING,
  pending: RefundStatus.REFUND_STATUS_PENDING,
  requires_action: RefundStatus.REFUND_STATUS_REQUIRES_ACTION,
  succeeded: RefundStatus.REFUND_STATUS_SUCCEEDED,
  failed: RefundStatus.REFUND_STATUS_FAILED,
  canceled: RefundStatus.REFUND_STATUS_CANCELED,
};

function toRefundMessage(refund: Refund): RefundMessage {
  return {
    id: refund.id,
    paymentId: refund.paymentId,
    amount: { amount: String(refund.amount), currency: refund.currency },
    status: REFUND_STATUSES[refund.status],
    reason: refund.reason ?? '',
    providerRefundId: refund.providerRefundId ?? '',
    failureReason: refund.failureReason ?? '',
    createTime: toTimestamp(refund.createdAt),
    updateTime: toTimestamp(refund.updatedAt),
  };
}
