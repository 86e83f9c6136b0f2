import { toTimestamp } from '#contracts/grpc.js';
import {
  type Refund as RefundMessage,
  RefundStatus,
} from '#contracts/generated/payments/v1/payments.js';
import type { Refund, RefundState } from './refund.entity.js';

const REFUND_STATUSES: Record<RefundState, RefundStatus> = {
  creating: RefundStatus.REFUND_STATUS_PENDING,
  pending: RefundStatus.REFUND_STATUS_PENDING,
  requires_action: RefundStatus.REFUND_STATUS_REQUIRES_ACTION,
  succeeded: RefundStatus.REFUND_STATUS_SUCCEEDED,
  failed: RefundStatus.REFUND_STATUS_FAILED,
  canceled: RefundStatus.REFUND_STATUS_CANCELED,
};

/** A refund as the gRPC contract (payments.v1.Refund) carries it. */
export function toRefundMessage(refund: Refund): RefundMessage {
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
