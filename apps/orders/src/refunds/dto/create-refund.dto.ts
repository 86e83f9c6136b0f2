import { z } from 'zod';
import { MAX_CHARGE_AMOUNT } from '#common/money.js';

/** Stripe's refund reasons. */
export const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'] as const;

/** The body of POST /api/v1/orders/:id/refunds. Without `amount`: all that is not yet refunded. */
export const createRefundSchema = z.strictObject(
  {
    amount: z
      .number({ error: 'must be an integer number of minor units' })
      .int('must be an integer number of minor units')
      .min(1, 'must be at least 1')
      .max(MAX_CHARGE_AMOUNT, `must be at most ${MAX_CHARGE_AMOUNT}`)
      .optional()
      .meta({
        description:
          'Minor units to refund; without it, everything not yet refunded. More than what remains is a 422.',
      }),
    reason: z
      .enum(REFUND_REASONS, { error: `must be one of ${REFUND_REASONS.join(', ')}` })
      .optional()
      .meta({ description: "Why, in Stripe's terms." }),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'must be a JSON object' : undefined) },
);

export type CreateRefundInput = z.infer<typeof createRefundSchema>;
