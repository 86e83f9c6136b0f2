import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '#common/runtime/clock.js';
import { DomainError } from '#common/errors.js';
import type { OrderStatus, StatusChangeSource } from '../order-status.js';
import type { Order } from '../order.entity.js';
import { OrdersRepository } from '../orders.repository.js';
import type { PaymentSnapshot } from './payment-snapshot.js';
import { decidePaymentUpdate } from './decide-payment-update.js';

/**
 * Makes an order follow its payment. Every path that learns something about a payment goes
 * through here: payments' gRPC notifications, the HTTP push, the answers to cancel and refund
 * calls, and reconciliation.
 */
@Injectable()
export class PaymentUpdatesService {
  private readonly logger = new Logger(PaymentUpdatesService.name);

  constructor(
    private readonly orders: OrdersRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * Applies the snapshot under the order's row lock. A version not newer than the one applied
   * last is stale or a repeat and changes nothing, which makes redeliveries harmless in any order.
   * A status the transition table refuses (say, a payment succeeding on a canceled order) is not
   * taken, but the payment's fields still are, so the order shows what happened to the money.
   */
  async apply(payment: PaymentSnapshot, source: StatusChangeSource): Promise<Order> {
    let refused: { from: OrderStatus; to: OrderStatus } | undefined;
    const result = await this.orders.changeLocked(payment.orderId, (current) => {
      const decision = decidePaymentUpdate(current, payment);
      if (decision.stale) return null;
      if (decision.refused) refused = { from: current.status, to: decision.refused };
      return {
        status: decision.status,
        fields: {
          paymentStatus: payment.status,
          paymentVersion: payment.version.toString(),
          amountRefunded: payment.amountRefunded,
          paymentDisputed: payment.disputed,
          paymentFailureCode: payment.failureCode,
          // News from payments: the reconciliation back-off starts over.
          reconcileAfter: null,
          reconcileAttempts: 0,
        },
        source,
        at: this.clock.now(),
      };
    });
    if (!result) throw new DomainError('not_found', `Order ${payment.orderId} does not exist.`);
    if (refused) {
      this.logger.warn(
        `Order ${payment.orderId} stays ${refused.from}: payment ${payment.paymentId} ` +
          `v${payment.version} is ${payment.status}, which would make it ${refused.to}`,
      );
    } else if (!result.changed) {
      this.logger.debug(
        `Ignored payment ${payment.paymentId} v${payment.version} for order ${payment.orderId}: ` +
          `not newer than v${result.order.paymentVersion}`,
      );
    }
    return result.order;
  }
}
