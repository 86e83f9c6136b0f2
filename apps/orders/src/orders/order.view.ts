import { z } from 'zod';
import { PAYMENT_INTENT_STATUSES } from '#contracts/payment-status.js';
import type { Order } from './order.entity.js';
import { ORDER_STATUSES } from './order-status.js';

const minorUnits = (description: string) => z.number().int().min(0).meta({ description });

/** An order line as the storefront sent it. */
export const orderLineViewSchema = z
  .object({
    sku: z.string().meta({ description: 'The stock-keeping unit, as sent.' }),
    name: z.string().meta({ description: 'The product name, as sent.' }),
    quantity: z.number().int().min(1).meta({ description: 'How many units.' }),
    unitAmount: minorUnits('The price of one unit in minor units (cents for usd).'),
  })
  .meta({ title: 'OrderLine' });

/**
 * The order as the storefront sees it. Amounts are integers in minor units. The OpenAPI document
 * (`docs/openapi.json`) renders this schema; `toOrderView` is typed by it, so the two cannot drift.
 */
export const orderViewSchema = z
  .object({
    id: z.uuid().meta({ description: 'The order id, chosen by the server.' }),
    status: z.enum(ORDER_STATUSES).meta({
      description:
        'The order lifecycle state (docs/architecture.md, "Order and payment states"). It follows the payment.',
    }),
    currency: z.string().meta({ description: 'ISO 4217 code, lowercase.', examples: ['usd'] }),
    amount: minorUnits('The total in minor units, computed by the server from the lines.'),
    amountRefunded: minorUnits('Minor units refunded so far.'),
    items: z.array(orderLineViewSchema).meta({ description: 'The order lines, in order.' }),
    payment: z
      .object({
        id: z.uuid().meta({ description: "The payment's id in the payments service." }),
        status: z.enum([...PAYMENT_INTENT_STATUSES, 'unknown']).meta({
          description:
            'The Stripe PaymentIntent status as payments last reported it (`unknown` before the first report).',
        }),
        clientSecret: z.string().nullable().meta({
          description:
            "The PaymentIntent's client secret, for Stripe.js to confirm the payment in the browser.",
        }),
      })
      .nullable()
      .meta({ description: 'The payment; `null` while the order is `pending_payment`.' }),
    createdAt: z.iso.datetime().meta({ description: 'When the order was created (UTC).' }),
    updatedAt: z.iso.datetime().meta({ description: 'When the order last changed (UTC).' }),
  })
  .meta({ title: 'Order' });

export type OrderView = z.infer<typeof orderViewSchema>;

/** A page of the customer's orders, newest first. */
export const orderPageSchema = z
  .object({
    data: z.array(orderViewSchema).meta({ description: 'The orders of this page, newest first.' }),
    nextCursor: z.string().nullable().meta({
      description: 'Pass it back as `cursor` for the next page; `null` on the last page. Opaque.',
    }),
  })
  .meta({ title: 'OrderPage' });

export type OrderPage = z.infer<typeof orderPageSchema>;

export function toOrderView(order: Order): OrderView {
  return {
    id: order.id,
    status: order.status,
    currency: order.currency,
    amount: order.amount,
    amountRefunded: order.amountRefunded,
    items: order.items.map(({ sku, name, quantity, unitAmount }) => ({
      sku,
      name,
      quantity,
      unitAmount,
    })),
    payment: order.paymentId
      ? {
          id: order.paymentId,
          status: paymentStatusOf(order.paymentStatus),
          clientSecret: order.paymentClientSecret,
        }
      : null,
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
  };
}

type PaymentStatusView = NonNullable<OrderView['payment']>['status'];

const KNOWN_PAYMENT_STATUSES: ReadonlySet<string> = new Set(PAYMENT_INTENT_STATUSES);

/** payments reports Stripe's statuses; anything else (none yet) is shown as `unknown`. */
function paymentStatusOf(status: string | null): PaymentStatusView {
  return status !== null && KNOWN_PAYMENT_STATUSES.has(status)
    ? (status as PaymentStatusView)
    : 'unknown';
}
