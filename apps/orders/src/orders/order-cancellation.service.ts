import { Injectable } from '@nestjs/common';
import { DomainError, isDomainError } from '#common/errors.js';
import { PaymentsClient } from '../payments-client/payments.client.js';
import type { Order } from './order.entity.js';
import { CANCEL_RULES } from './order-status.js';
import { OrdersService } from './orders.service.js';
import { snapshotOfPayment } from './payment-updates/payment-snapshot.js';
import { PaymentUpdatesService } from './payment-updates/payment-updates.service.js';
import type { Principal } from '../auth/principal.js';

/** A customer cancelling an order they have not paid. */
@Injectable()
export class OrderCancellationService {
  constructor(
    private readonly orders: OrdersService,
    private readonly payments: PaymentsClient,
    private readonly paymentUpdates: PaymentUpdatesService,
  ) {}

  /**
   * Cancels the order and, when its PaymentIntent exists, that too. An order still
   * `pending_payment` may have a payment at payments that its checkout never attached (cut off
   * in between): it is obtained with the order's own key first, which returns that payment, so
   * it can be canceled. When the checkout never got that far this creates one only to cancel it:
   * payments then holds the order's one payment, canceled, so a checkout or reconciliation
   * racing the cancel can never leave a PaymentIntent open behind it. Every step is keyed per
   * order, so a retry after any failure resumes.
   */
  async cancel(principal: Principal, orderId: string): Promise<Order> {
    let order = await this.orders.getOrder(principal, orderId, 'cancel');
    if (CANCEL_RULES[order.status] === 'obtain_payment_first') {
      // The attach is conditional: a checkout attaching at the same moment leaves the same payment.
      order = await this.orders.obtainPayment(order, 'customer');
    }
    switch (CANCEL_RULES[order.status]) {
      case 'canceled_already':
        return order;
      case 'cancelable':
        return this.cancelPayment(order);
      default:
        throw refundNeeded(order);
    }
  }

  /**
   * payments cancels the PaymentIntent, or refuses because it succeeded in the meantime. The key
   * is one per order: cancelling is the same request however often it is repeated.
   */
  private async cancelPayment(order: Order): Promise<Order> {
    const payment = await this.payments
      .cancelPayment(order.paymentId!, `order-${order.id}-cancel`)
      .catch((error: unknown) => {
        if (isDomainError(error) && error.code === 'precondition_failed') {
          throw new DomainError(
            'conflict',
            `Order ${order.id} can no longer be canceled: its payment went through. ` +
              'It needs a refund instead.',
          );
        }
        throw error;
      });
    return this.paymentUpdates.apply(
      { ...snapshotOfPayment(payment), orderId: order.id },
      'customer',
    );
  }
}

function refundNeeded(order: Order): DomainError {
  return new DomainError(
    'conflict',
    CANCEL_RULES[order.status] === 'refunded_already'
      ? `Order ${order.id} is refunded already; there is nothing left to cancel.`
      : `Order ${order.id} is ${order.status}: it has been paid, so it cannot be canceled; ` +
          'it needs a refund instead (POST /api/v1/orders/{id}/refunds).',
  );
}
