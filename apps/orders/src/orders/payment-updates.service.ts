import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '#common/clock.js';
import { DomainError } from '#common/errors.js';
import { canTransition, type OrderStatus, type StatusChangeSource } from './order-status.js';
import type { Order } from './order.entity.js';
import { OrdersRepository } from './orders.repository.js';
import { orderStatusForPayment, type PaymentSnapshot } from './payment-snapshot.js';

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
      if (!current.paymentId) {
        // The checkout (or reconciliation) attaches it in a moment: a retry then succeeds, so the
        // outbox must retry this, not park it as refused.
        throw new DomainError('unavailable', `Order ${current.id} has no payment yet; retry.`, [], {
          retryAfterSeconds: 1,
        });
      }
      if (current.paymentId !== payment.paymentId) {
        throw new DomainError(
          'precondition_failed',
          `Payment ${payment.paymentId} is not the payment of order ${current.id}.`,
        );
      }
      if (payment.version <= current.paymentVersion) return null;
      const wanted = orderStatusForPayment(payment, current.amount);
      const allowed = canTransition(current.status, wanted);
      if (!allowed) refused = { from: current.status, to: wanted };
      return {
        status: allowed ? wanted : current.status,
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
