import { z } from 'zod';
import { MAX_CHARGE_AMOUNT } from '#common/money.js';
import { plainText, uuidString } from '#common/validation.js';
import { PAYMENT_INTENT_STATUSES } from '#contracts/payment-status.js';
import type { PaymentSnapshot } from '../payment-snapshot.js';

/** The body of POST /api/v1/webhooks/payment-updates: a payment as the pushing system sees it. */
export const paymentUpdateSchema = z
  .strictObject(
    {
      orderId: uuidString().meta({ description: 'The order the payment is for.' }),
      paymentId: uuidString().meta({ description: "The payment's id in the payments service." }),
      paymentStatus: z
        .enum(PAYMENT_INTENT_STATUSES, {
          error: `must be one of ${PAYMENT_INTENT_STATUSES.join(', ')}`,
        })
        .meta({ description: "The payment's Stripe PaymentIntent status." }),
      paymentVersion: z
        .number({ error: 'must be a positive integer' })
        .int('must be a positive integer')
        .min(1, 'must be a positive integer')
        .meta({
          description:
            "The payment's version, increasing with every change: an update not newer than the order's is answered with the order unchanged.",
        }),
      amountRefunded: z
        .number({ error: 'must be an integer number of minor units' })
        .int('must be an integer number of minor units')
        .min(0, 'must not be negative')
        .max(MAX_CHARGE_AMOUNT, `must be at most ${MAX_CHARGE_AMOUNT}`)
        .default(0)
        .meta({ description: 'Minor units refunded so far.' }),
      disputed: z
        .boolean({ error: 'must be a boolean' })
        .default(false)
        .meta({ description: 'Whether the charge is disputed.' }),
      failureCode: plainText({ min: 0, max: 255 })
        .nullish()
        .meta({ description: "Stripe's failure code of the last attempt, if it failed." }),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? 'must be a JSON object' : undefined) },
  )
  .transform((body): PaymentSnapshot => ({
    orderId: body.orderId,
    paymentId: body.paymentId,
    status: body.paymentStatus,
    version: BigInt(body.paymentVersion),
    amountRefunded: body.amountRefunded,
    disputed: body.disputed,
    failureCode: body.failureCode || null,
  }));
