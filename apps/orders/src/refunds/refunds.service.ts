import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DomainError } from '#common/errors.js';
import type { Refund } from '#contracts/generated/payments/v1/payments.js';
import type { Order } from '../orders/order.entity.js';
import { OrdersService } from '../orders/orders.service.js';
import { snapshotOfPayment } from '../orders/payment-snapshot.js';
import { PaymentUpdatesService } from '../orders/payment-updates.service.js';
import { PaymentsClient } from '../payments/payments.client.js';
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
   * Checks what orders knows first, so an obviously impossible refund costs no call. payments
   * decides for good under its own row lock (concurrent refunds may still exceed the amount
   * there, and it refuses those). `requestKey` is the REST Idempotency-Key: a retry of the request
   * reaches payments with the same key and gets the same refund back.
   */
  async refund(
    principal: Principal,
    orderId: string,
    input: CreateRefundInput,
    requestKey: string,
  ): Promise<{ refund: Refund; order: Order }> {
    const order = await this.orders.getOrder(principal, orderId, 'refund');
    assertRefundable(order);
    const remaining = order.amount - order.amountRefunded;
    if (input.amount !== undefined && input.amount > remaining) {
      throw new DomainError(
        'precondition_failed',
        `At most ${remaining} (minor units of ${order.currency}) of order ${order.id} can still ` +
          `be refunded; ${input.amount} was asked for.`,
      );
    }
    const { refund, payment } = await this.payments.processRefund(
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
    );
    const updated = await this.paymentUpdates.apply(
      { ...snapshotOfPayment(payment), orderId: order.id },
      order.customerId === principal.subject ? 'customer' : 'admin',
    );
    return { refund, order: updated };
  }
}

function assertRefundable(order: Order): void {
  switch (order.status) {
    case 'paid':
    case 'partially_refunded':
      return;
    case 'disputed':
      // Stripe refuses refunds of a disputed charge; the dispute's outcome settles the money.
      throw new DomainError(
        'conflict',
        `Order ${order.id} is disputed; it cannot be refunded while the dispute is open.`,
      );
    case 'refunded':
      throw new DomainError('conflict', `Order ${order.id} is refunded in full already.`);
    default:
      throw new DomainError(
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
