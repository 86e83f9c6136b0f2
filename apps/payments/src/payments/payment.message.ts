import { toTimestamp } from '#contracts/grpc.js';
import type { Payment as PaymentMessage } from '#contracts/generated/payments/v1/payments.js';
import type { Payment } from './payment.entity.js';
import { toProtoStatus } from './payment-state.js';

/** A payment as the gRPC contract (payments.v1.Payment) carries it. */
export function toPaymentMessage(payment: Payment): PaymentMessage {
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
