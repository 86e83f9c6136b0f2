import { fromTimestamp } from '#contracts/grpc.js';
import type { Refund } from '#contracts/generated/payments/v1/payments.js';

/** A refund as the storefront sees it. */
export interface RefundView {
  id: string;
  amount: number;
  currency: string;
  /** Stripe's Refund status: pending, requires_action, succeeded, failed or canceled. */
  status: string;
  reason: string | null;
  createdAt: string | null;
}

export function toRefundView(refund: Refund): RefundView {
  return {
    id: refund.id,
    amount: Number(refund.amount?.amount ?? 0),
    currency: refund.amount?.currency ?? '',
    status: refund.status.replace(/^REFUND_STATUS_/, '').toLowerCase(),
    reason: refund.reason || null,
    createdAt: fromTimestamp(refund.createTime)?.toISOString() ?? null,
  };
}
