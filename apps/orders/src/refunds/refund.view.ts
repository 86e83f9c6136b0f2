import { z } from 'zod';
import { fromTimestamp } from '#contracts/grpc.js';
import type { Refund } from '#contracts/generated/payments/v1/payments.js';
import type { Order } from '../orders/order.entity.js';
import { orderViewSchema, toOrderView } from '../orders/order.view.js';
import { REFUND_REASONS } from './dto/create-refund.dto.js';

/** A refund as the storefront sees it; `toRefundView` is typed by this schema. */
export const refundViewSchema = z
  .object({
    id: z.uuid().meta({ description: 'The refund id in the payments service.' }),
    amount: z.number().int().min(0).meta({ description: 'Minor units refunded.' }),
    currency: z.string().meta({ description: 'ISO 4217 code, lowercase.', examples: ['usd'] }),
    status: z.string().meta({
      description:
        "Stripe's Refund status: pending, requires_action, succeeded, failed or canceled. A refund can fail later; the order's refunded total then goes down again.",
      examples: ['succeeded'],
    }),
    reason: z
      .enum(REFUND_REASONS)
      .nullable()
      .meta({ description: 'The reason given with the request, or `null`.' }),
    createdAt: z.iso
      .datetime()
      .nullable()
      .meta({ description: 'When payments recorded the refund (UTC).' }),
  })
  .meta({ title: 'Refund' });

export type RefundView = z.infer<typeof refundViewSchema>;

/** The answer to a refund: the refund and the order after it. */
export const refundResultSchema = z
  .object({
    refund: refundViewSchema,
    order: orderViewSchema.meta({ description: 'The order after the refund.' }),
  })
  .meta({ title: 'RefundResult' });

export type RefundResult = z.infer<typeof refundResultSchema>;

const KNOWN_REASONS: ReadonlySet<string> = new Set(REFUND_REASONS);

export function toRefundView(refund: Refund): RefundView {
  return {
    id: refund.id,
    amount: Number(refund.amount?.amount ?? 0),
    currency: refund.amount?.currency ?? '',
    status: refund.status.replace(/^REFUND_STATUS_/, '').toLowerCase(),
    // payments records only the reasons orders accepted.
    reason: KNOWN_REASONS.has(refund.reason) ? (refund.reason as RefundView['reason']) : null,
    createdAt: fromTimestamp(refund.createTime)?.toISOString() ?? null,
  };
}

export function toRefundResult({ refund, order }: { refund: Refund; order: Order }): RefundResult {
  return { refund: toRefundView(refund), order: toOrderView(order) };
}
