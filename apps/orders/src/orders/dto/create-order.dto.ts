import { z } from 'zod';
import { chargeAmountProblem, parseCurrency, SUPPORTED_CURRENCIES } from '#common/money.js';
import { plainText } from '#common/validation.js';
import { orderTotal } from '../order-total.js';

export const MAX_ITEMS = 100;
export const MAX_QUANTITY = 1000;
export const MAX_UNIT_AMOUNT = 1_000_000_000;

/** One line of POST /api/v1/orders. */
export const orderItemSchema = z.strictObject({
  sku: z
    .string({ error: 'must be a string' })
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/, 'must be 1 to 64 letters, digits or ._:/-')
    .meta({ description: 'Your stock-keeping unit: 1 to 64 letters, digits or `._:/-`.' }),
  name: plainText({ max: 200 }).meta({
    description:
      'The product name shown to the customer: 1 to 200 characters, no control, invisible or direction-changing characters.',
  }),
  quantity: z
    .number({ error: 'must be an integer' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .max(MAX_QUANTITY, `must be at most ${MAX_QUANTITY}`)
    .meta({ description: 'How many units.' }),
  unitAmount: z
    .number({ error: 'must be an integer number of minor units' })
    .int('must be an integer number of minor units')
    .min(1, 'must be at least 1')
    .max(MAX_UNIT_AMOUNT, `must be at most ${MAX_UNIT_AMOUNT}`)
    .meta({ description: 'The price of one unit in minor units (cents for usd, yen for jpy).' }),
});

/** The body of POST /api/v1/orders. The total is not part of it: the server computes it. */
export const createOrderSchema = z
  .strictObject(
    {
      currency: z
        .string({ error: 'must be a string' })
        .transform((value, ctx) => {
          const currency = parseCurrency(value);
          if (currency) return currency;
          ctx.addIssue({
            code: 'custom',
            message: `must be one of the supported ISO 4217 codes: ${SUPPORTED_CURRENCIES.join(', ')}`,
          });
          return z.NEVER;
        })
        .meta({
          description: `One of the supported ISO 4217 codes, any letter case (stored and answered lowercase): ${SUPPORTED_CURRENCIES.join(', ')}.`,
          examples: ['usd'],
        }),
      // The count is checked before the items: 10,000 bad lines must not cost 40,000 errors.
      items: z
        .array(z.unknown(), { error: 'must be an array of items' })
        .min(1, 'must hold at least 1 item')
        .max(MAX_ITEMS, `must hold at most ${MAX_ITEMS} items`)
        .pipe(z.array(orderItemSchema))
        .meta({
          description: `1 to ${MAX_ITEMS} order lines. Their total (the sum of quantity x unitAmount, computed by the server) must lie between Stripe's minimum charge for the currency (e.g. 50 for usd) and 99,999,999 minor units.`,
        }),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? 'must be a JSON object' : undefined) },
  )
  .superRefine((order, ctx) => {
    const problem = chargeAmountProblem(orderTotal(order.items), order.currency);
    if (problem)
      ctx.addIssue({ code: 'custom', path: ['items'], message: `order total ${problem}` });
  });

export type CreateOrderInput = z.infer<typeof createOrderSchema>;

export const listOrdersQuerySchema = z.strictObject({
  limit: z.coerce
    .number({ error: 'must be an integer' })
    .int('must be an integer')
    .min(1, 'must be at least 1')
    .default(20)
    // Larger pages are served at the cap rather than refused.
    .transform((limit) => Math.min(limit, 100))
    .meta({ description: 'Page size; larger values than 100 are served as 100.' }),
  cursor: z
    .string()
    .max(200, 'is not a valid cursor')
    .optional()
    .meta({ description: "The previous page's `nextCursor`, to read the next page. Opaque." }),
});

export type ListOrdersQuery = z.infer<typeof listOrdersQuerySchema>;
