import type { Order } from './order.entity.js';

/** The order as the storefront sees it. Amounts are integers in minor units. */
export interface OrderView {
  id: string;
  status: string;
  currency: string;
  amount: number;
  /** Minor units refunded so far. */
  amountRefunded: number;
  items: { sku: string; name: string; quantity: number; unitAmount: number }[];
  payment: { id: string; status: string; clientSecret: string | null } | null;
  createdAt: string;
  updatedAt: string;
}

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
          status: order.paymentStatus ?? 'unknown',
          clientSecret: order.paymentClientSecret,
        }
      : null,
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
  };
}
