import { Controller, UseFilters } from '@nestjs/common';
import type { Metadata } from '@grpc/grpc-js';
import { DomainError } from '#common/errors.js';
import { GrpcErrorFilter } from '#common/grpc-status.js';
import { IDEMPOTENCY_KEY_METADATA, toTimestamp } from '#contracts/grpc.js';
import {
  type CreatePaymentRequest,
  type CreatePaymentResponse,
  type GetPaymentRequest,
  type GetPaymentResponse,
  type Payment as PaymentMessage,
  type PaymentServiceController,
  PaymentServiceControllerMethods,
  type ProcessRefundResponse,
} from '#contracts/generated/payments/v1/payments.js';
import type { Payment } from './payment.entity.js';
import { toProtoStatus } from './payment-state.js';
import { PaymentsService } from './payments.service.js';

@Controller()
@UseFilters(GrpcErrorFilter)
@PaymentServiceControllerMethods()
export class PaymentsGrpcController implements PaymentServiceController {
  constructor(private readonly payments: PaymentsService) {}

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
    return { payment: toMessage(await this.payments.getPayment(request.paymentId)) };
  }

  processRefund(): Promise<ProcessRefundResponse> {
    return Promise.reject(new DomainError('unimplemented', 'Refunds are not implemented yet.'));
  }
}

/** Mutating calls must be safe to retry, so they must say which attempt they repeat. */
function requireIdempotencyKey(metadata: Metadata | undefined): string {
  const [key] = metadata?.get(IDEMPOTENCY_KEY_METADATA) ?? [];
  if (typeof key !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw DomainError.validation(
      [
        {
          field: IDEMPOTENCY_KEY_METADATA,
          message: 'metadata must hold 1 to 255 visible ASCII characters',
        },
      ],
      'Mutating calls require an idempotency-key metadata entry.',
    );
  }
  return key;
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
  };
}
