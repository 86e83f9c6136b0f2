import { Injectable } from '@nestjs/common';
import { Clock } from '#common/clock.js';
import { DomainError, isDomainError } from '#common/errors.js';
import { PaymentsClient } from '../payments/payments.client.js';
import type { Order } from './order.entity.js';
import { OrdersRepository } from './orders.repository.js';
import { OrdersService } from './orders.service.js';
import { snapshotOfPayment } from './payment-snapshot.js';
import { PaymentUpdatesService } from './payment-updates.service.js';
import type { Principal } from '../auth/principal.js';

/** A customer cancelling an order they have not paid. */
@Injectable()
export class OrderCancellationService {
  constructor(
    private readonly orders: OrdersService,
    private readonly repository: OrdersRepository,
    private readonly payments: PaymentsClient,
    private readonly paymentUpdates: PaymentUpdatesService,
    private readonly clock: Clock,
  ) {}

  async cancel(principal: Principal, orderId: string): Promise<Order> {
    let order = await this.orders.getOrder(principal, orderId, 'cancel');
    if (order.status === 'pending_payment') {
      // No payment attached yet: nothing to cancel anywhere else. The row lock decides against a
      // checkout attaching its payment at the same moment; whichever comes second sees the other.
      const result = await this.repository.changeLocked(order.id, (current) =>
        current.status === 'pending_payment'
          ? { status: 'canceled', source: 'customer', at: this.clock.now() }
          : null,
      );
      if (!result) throw new DomainError('not_found', `Order ${orderId} does not exist.`);
      order = result.order;
    }
    switch (order.status) {
      case 'canceled':
        return order;
      case 'awaiting_payment':
      case 'payment_failed':
        return this.cancelPayment(order);
      case 'pending_payment':
        throw new DomainError('internal', `Order ${order.id} could not be canceled.`);
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
    order.status === 'refunded'
      ? `Order ${order.id} is refunded already; there is nothing left to cancel.`
      : `Order ${order.id} is ${order.status}: it has been paid, so it cannot be canceled; ` +
          'it needs a refund instead (POST /api/v1/orders/{id}/refunds).',
  );
}
