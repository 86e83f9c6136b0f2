import { z } from 'zod';

/** POST /api/v1/orders/:id/cancel takes no parameters: no body, or an empty JSON object. */
export const cancelOrderSchema = z
  .strictObject(
    {},
    { error: (issue) => (issue.code === 'invalid_type' ? 'must be a JSON object' : undefined) },
  )
  .optional();

export type CancelOrderInput = z.infer<typeof cancelOrderSchema>;
