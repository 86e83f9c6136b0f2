import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DomainError, isDomainError } from '#common/errors.js';
import type { Refund } from '#contracts/generated/payments/v1/payments.js';
import type { Order } from '../orders/order.entity.js';
import { REFUND_RULES } from '../orders/order-status.js';
import { OrdersService } from '../orders/orders.service.js';
import { snapshotOfPayment } from '../orders/payment-updates/payment-snapshot.js';
import { PaymentUpdatesService } from '../orders/payment-updates/payment-updates.service.js';
import { PaymentsClient } from '../payments-client/payments.client.js';
import type { CreateRefundInput } from './dto/create-refund.dto.js';
import type { Principal } from '../auth/principal.js';

/**
 * A customer refunding all or part of their paid order, or an admin any paid order. payments and
 * Stripe move the money.
 */
@Injectable()
export class RefundsService {
  constructor(
    private readonly orders: OrdersService,
    private readonly payments: PaymentsClient,
    private readonly paymentUpdates: PaymentUpdatesService,
  ) {}

  /**
   * Asks payments with a key derived from the REST Idempotency-Key (`requestKey`), so a retry of
   * a request reaches payments with the same key and gets the refund it made back, however the
   * earlier attempt ended. payments decides under its own row lock, and refuses what exceeds the
   * amount not yet refunded. What orders knows only answers without a call where no attempt can
   * have refunded: an order that was never paid. Otherwise a local refusal (refunded, disputed,
   * more than remains) may be stale, or the effect of this very request's earlier attempt, so
   * payments is asked first and the local reason only stands once payments refuses too.
   */
  async refund(
    principal: Principal,
    orderId: string,
    input: CreateRefundInput,
    requestKey: string,
  ): Promise<{ refund: Refund; order: Order }> {
    const order = await this.orders.getOrder(principal, orderId, 'refund');
    const refusal = localRefusal(order, input.amount);
    // An order never paid cannot have been refunded by an earlier attempt: no need to ask.
    if (refusal && REFUND_RULES[order.status] === 'not_paid') throw refusal;
    const { refund, payment } = await this.payments
      .processRefund(
        {
          paymentId: order.paymentId!,
          // Unset: payments refunds whatever remains by its own account, which is authoritative.
          amount:
            input.amount === undefined
              ? undefined
              : { amount: String(input.amount), currency: order.currency },
          reason: input.reason ?? '',
        },
        refundKey(order.id, principal.subject, requestKey),
      )
      .catch((error: unknown) => {
        // payments made no refund under this key and refuses a new one: say why in our words.
        if (refusal && isDomainError(error) && error.code === 'precondition_failed') throw refusal;
        throw error;
      });
    const updated = await this.paymentUpdates.apply(
      { ...snapshotOfPayment(payment), orderId: order.id },
      order.customerId === principal.subject ? 'customer' : 'admin',
    );
    return { refund, order: updated };
  }
}

/** Why orders' own record says the refund cannot be made, if it does. */
function localRefusal(order: Order, amount: number | undefined): DomainError | undefined {
  const unrefundable = refusalOfStatus(order);
  if (unrefundable) return unrefundable;
  const remaining = order.amount - order.amountRefunded;
  if (amount !== undefined && amount > remaining) {
    return new DomainError(
      'precondition_failed',
      `At most ${remaining} (minor units of ${order.currency}) of order ${order.id} can still ` +
        `be refunded; ${amount} was asked for.`,
    );
  }
  return undefined;
}

function refusalOfStatus(order: Order): DomainError | undefined {
  switch (REFUND_RULES[order.status]) {
    case 'refundable':
      return undefined;
    case 'disputed':
      return new DomainError(
        'conflict',
        `Order ${order.id} is disputed; it cannot be refunded while the dispute is open.`,
      );
    case 'refunded_already':
      return new DomainError('conflict', `Order ${order.id} is refunded in full already.`);
    case 'not_paid':
      return new DomainError(
        'conflict',
        `Order ${order.id} is ${order.status}: it has not been paid, so there is nothing to ` +
          'refund; cancel it instead.',
      );
  }
}

/**
 * payments' key for the refund a REST request asks for: one per (caller, REST key), so retries
 * of one request map to one refund and two requests never share one. Hashed to keep the key
 * short and to keep the customer's key out of payments' records.
 */
export function refundKey(orderId: string, customerId: string, requestKey: string): string {
  const digest = createHash('sha256').update(`${customerId}:${requestKey}`).digest('base64url');
  return `order-${orderId}-refund-${digest.slice(0, 32)}`;
}
