import { Injectable } from '@nestjs/common';
import { Clock, IdGenerator } from '#common/runtime/clock.js';
import { DomainError } from '#common/errors.js';
import { annotate, Untraced } from '#observability/spans.js';
import { isUuid } from '#common/uuid.js';
import type { Checkpoint } from '../idempotency/idempotency.service.js';
import { PaymentsClient } from '../payments-client/payments.client.js';
import type { CreateOrderInput, ListOrdersQuery } from './dto/create-order.dto.js';
import { decodeCursor, encodeCursor } from './order-cursor.js';
import { OrderItem } from './order-item.entity.js';
import { orderTotal } from './order-total.js';
import { Order } from './order.entity.js';
import { OrdersRepository } from './orders.repository.js';
import { paymentStatusName } from '#contracts/payment-status.js';
import { countOrderCreated } from '#observability/business-metrics.js';
import { type OrderAction, orderScope, type Principal } from '../auth/principal.js';
import type { StatusChangeSource } from './order-status.js';

export interface OrderPage {
  orders: Order[];
  nextCursor: string | null;
}

@Injectable()
export class OrdersService {
  constructor(
    private readonly orders: OrdersRepository,
    private readonly payments: PaymentsClient,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
  ) {}

  /**
   * Records the order, then asks payments for its payment. The order is committed first, with
   * the idempotency key's recovery point in the same transaction, so that a retry of the key
   * after any failure resumes this order: it stays `pending_payment` until its payment exists
   * (or until reconciliation obtains it, see `obtainPayment`).
   */
  async createOrder(
    customerId: string,
    input: CreateOrderInput,
    checkpoint: Checkpoint,
  ): Promise<Order> {
    if (checkpoint.orderId) {
      const earlier = await this.orders.findForCustomer(checkpoint.orderId, customerId);
      if (!earlier) throw new DomainError('internal', `Order ${checkpoint.orderId} vanished.`);
      // Canceled meanwhile: asking payments now could only create a PaymentIntent nobody needs.
      if (earlier.status === 'canceled') throw noLongerPayable(earlier);
      return earlier.paymentId ? earlier : this.obtainPayment(earlier, 'customer');
    }
    // With the circuit open, fail before writing anything.
    this.payments.assertAvailable();
    const order = this.newOrder(customerId, input);
    annotate({
      'order.id': order.id,
      'order.amount': order.amount,
      'order.currency': order.currency,
    });
    await this.orders.insert(order, checkpoint.key);
    countOrderCreated(order.currency);
    return this.obtainPayment(order, 'customer');
  }

  /**
   * Gets the order's payment from payments and attaches it to the order. The key is one per
   * order, so whoever asks (the checkout, its retry, reconciliation, a cancel) gets the one
   * payment payments holds for the order, created on the first call; the conditional attach
   * decides between concurrent askers.
   */
  @Untraced()
  async obtainPayment(order: Order, source: StatusChangeSource): Promise<Order> {
    const payment = await this.payments.createPayment(
      {
        orderId: order.id,
        customerId: order.customerId,
        amount: { amount: String(order.amount), currency: order.currency },
      },
      `order-${order.id}-create-payment`,
    );
    // Recording the version lets the notification of this same state count as a repeat.
    const fields = {
      paymentId: payment.id,
      paymentStatus: paymentStatusName(payment.status),
      paymentClientSecret: payment.clientSecret,
      paymentVersion: /^\d{1,18}$/.test(payment.version) ? payment.version : '0',
    };
    const at = this.clock.now();
    if (await this.orders.attachPayment(order.id, fields, at, source)) {
      return Object.assign(order, fields, { status: 'awaiting_payment', updatedAt: at });
    }
    const current = await this.orders.findById(order.id);
    if (!current) throw new DomainError('internal', `Order ${order.id} vanished.`);
    // Already carrying this payment: an earlier attempt attached it.
    if (current.paymentId === payment.id) return current;
    throw noLongerPayable(current);
  }

  /**
   * The order, when the principal may do `action` to it. A customer only ever reaches their own
   * orders; anyone else's is indistinguishable from none. An admin reads and refunds any.
   */
  async getOrder(
    principal: Principal,
    orderId: string,
    action: OrderAction = 'read',
  ): Promise<Order> {
    const scope = orderScope(principal, action);
    const order = isUuid(orderId) ? await this.orders.findInScope(orderId, scope) : null;
    if (!order) throw new DomainError('not_found', `Order ${orderId} does not exist.`);
    return order;
  }

  async getOrderById(orderId: string): Promise<Order> {
    if (!isUuid(orderId)) {
      throw DomainError.validation([{ field: 'order_id', message: 'must be a UUID' }]);
    }
    const order = await this.orders.findById(orderId);
    if (!order) throw new DomainError('not_found', `Order ${orderId} does not exist.`);
    return order;
  }

  /** The principal's own orders: a cursor only positions the page, the owner is in the query. */
  async listOrders(principal: Principal, query: ListOrdersQuery): Promise<OrderPage> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    // One extra row tells whether another page exists without a count query.
    const rows = await this.orders.listForCustomer(principal.subject, query.limit + 1, after);
    const orders = rows.slice(0, query.limit);
    const last = orders.at(-1);
    return {
      orders,
      nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null,
    };
  }

  private newOrder(customerId: string, input: CreateOrderInput): Order {
    const now = this.clock.now();
    const id = this.ids.uuid();
    return Object.assign(new Order(), {
      id,
      customerId,
      status: 'pending_payment',
      currency: input.currency,
      amount: orderTotal(input.items),
      items: input.items.map((item, position) =>
        Object.assign(new OrderItem(), { ...item, orderId: id, position }),
      ),
      paymentId: null,
      paymentStatus: null,
      paymentClientSecret: null,
      paymentVersion: '0',
      amountRefunded: 0,
      paymentDisputed: false,
      paymentFailureCode: null,
      reconcileAfter: null,
      reconcileAttempts: 0,
      createdAt: now,
      updatedAt: now,
    });
  }
}

function noLongerPayable(order: Order): DomainError {
  return new DomainError('conflict', `Order ${order.id} can no longer take a payment.`);
}
