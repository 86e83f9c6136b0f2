import { Injectable } from '@nestjs/common';
import { Clock, IdGenerator } from '#common/runtime/clock.js';
import { z } from 'zod';
import { DomainError } from '#common/errors.js';
import { chargeAmountProblem, parseCurrency } from '#common/money.js';
import { parseOrThrow, uuidString, VISIBLE_ASCII_ID } from '#common/validation.js';
import { annotate } from '#observability/spans.js';
import { currentTraceparent } from '#observability/trace-context.js';
import { Faults } from '../fault-injection/faults.js';
import { StripeGateway } from '../stripe/stripe.gateway.js';
import { Payment } from './payment.entity.js';
import { applyIntent } from './apply-intent.js';
import { PaymentChanges } from './payment-changes.js';
import { canPaymentTransition, isPaymentState } from './payment-state.js';
import { PaymentsRepository } from './payments.repository.js';

export interface CreatePaymentCommand {
  orderId: string;
  customerId: string;
  /** Minor units, as the decimal string int64 travels in. */
  amount: string;
  currency: string;
}

@Injectable()
export class PaymentsService {
  constructor(
    private readonly payments: PaymentsRepository,
    private readonly stripe: StripeGateway,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly faults: Faults,
    private readonly changes: PaymentChanges,
  ) {}

  /**
   * Returns the order's payment, creating it and its Stripe PaymentIntent when needed. Progress is
   * recorded before and after the Stripe call, and Stripe sees a key derived from our payment id,
   * so a retry after any failure (ours, the network's or Stripe's) resumes with the same
   * PaymentIntent instead of creating a second one.
   */
  async createPayment(command: CreatePaymentCommand, idempotencyKey: string): Promise<Payment> {
    const request = validateCreatePayment(command);
    annotate({
      'order.id': request.orderId,
      'payment.amount': request.amount,
      'payment.currency': request.currency,
    });
    const now = this.clock.now();
    const existing = await this.payments.insertOrGetExisting(
      Object.assign(new Payment(), {
        id: this.ids.uuid(),
        ...request,
        status: 'creating',
        providerPaymentId: null,
        clientSecret: null,
        createIdempotencyKey: idempotencyKey,
        version: 1,
        amountRefunded: 0,
        failureCode: null,
        failureMessage: null,
        latestChargeId: null,
        receiptUrl: null,
        disputed: false,
        stripeStatusAt: null,
        checkoutTraceparent: currentTraceparent(),
        createdAt: now,
        updatedAt: now,
      }),
    );
    const payment = existing.find((p) => p.orderId === request.orderId);
    if (!payment || existing.length > 1) {
      throw new DomainError(
        'idempotency_key_reused',
        'This idempotency key already created the payment of another order.',
      );
    }
    if (
      payment.amount !== request.amount ||
      payment.currency !== request.currency ||
      payment.customerId !== request.customerId
    ) {
      throw new DomainError(
        'precondition_failed',
        `Order ${request.orderId} already has a payment of ${payment.amount} ${payment.currency}.`,
      );
    }
    annotate({ 'payment.id': payment.id });
    if (payment.providerPaymentId) return payment;

    const intent = await this.stripe.createPaymentIntent({
      amount: payment.amount,
      currency: payment.currency,
      metadata: {
        order_id: payment.orderId,
        payment_id: payment.id,
        customer_id: payment.customerId,
      },
      idempotencyKey: `payment-${payment.id}-create-intent`,
    });
    this.faults.trip('after-stripe-create-intent');
    if (!intent.client_secret || !isPaymentState(intent.status)) {
      throw new DomainError('internal', `Stripe returned an unusable PaymentIntent ${intent.id}.`);
    }
    return this.payments.recordIntent(payment, {
      providerPaymentId: intent.id,
      clientSecret: intent.client_secret,
      status: intent.status,
      updatedAt: this.clock.now(),
    });
  }

  /** One payment; with `refresh`, first brought up to date from Stripe (for reconciliation). */
  async getPayment(paymentId: string, refresh = false): Promise<Payment> {
    parseOrThrow(paymentIdSchema, { payment_id: paymentId });
    const payment = await this.payments.findById(paymentId);
    if (!payment) throw new DomainError('not_found', `Payment ${paymentId} does not exist.`);
    if (!refresh || !payment.providerPaymentId) return payment;
    const intent = await this.stripe.retrievePaymentIntent(payment.providerPaymentId);
    const now = this.clock.now();
    return (await this.changes.change({ id: payment.id }, (p) => applyIntent(p, intent, now)))!;
  }

  /**
   * Cancels a payment that has not succeeded, and its PaymentIntent. Stripe gets a key derived
   * from the payment, so a repeated call is harmless; a canceled payment answers as it is.
   */
  async cancelPayment(paymentId: string): Promise<Payment> {
    const payment = await this.cancelOnce(paymentId);
    this.faults.trip('after-cancel');
    return payment;
  }

  private async cancelOnce(paymentId: string): Promise<Payment> {
    const payment = await this.getPayment(paymentId);
    if (payment.status === 'canceled') return payment;
    if (payment.status === 'succeeded' || payment.status === 'processing') {
      throw new DomainError(
        'precondition_failed',
        payment.status === 'succeeded'
          ? 'The payment succeeded; refund it instead of canceling.'
          : 'The payment is processing and cannot be canceled now.',
      );
    }
    if (!payment.providerPaymentId) {
      return (await this.changes.change({ id: payment.id }, (p) => {
        if (p.providerPaymentId || !canPaymentTransition(p.status, 'canceled')) return false;
        p.status = 'canceled';
        return true;
      }))!;
    }
    const intent = await this.stripe.cancelPaymentIntent(
      payment.providerPaymentId,
      `payment-${payment.id}-cancel`,
    );
    const now = this.clock.now();
    return (await this.changes.change({ id: payment.id }, (p) => applyIntent(p, intent, now)))!;
  }
}

/** The checks below are keyed by the proto's field names: the errors name the fields so. */
const paymentIdSchema = z.object({ payment_id: uuidString() });

/** Minor units as int64 travels (a decimal string), chargeable in a supported lowercase currency. */
const chargeSchema = z
  .object({ amount: z.string(), currency: z.string() })
  .transform((money, ctx) => {
    const currency = parseCurrency(money.currency);
    if (!currency || money.currency !== currency) {
      ctx.addIssue({
        code: 'custom',
        path: ['currency'],
        message: 'must be a supported lowercase ISO 4217 code',
      });
    }
    const amount = /^\d{1,15}$/.test(money.amount) ? Number(money.amount) : Number.NaN;
    const problem = currency
      ? chargeAmountProblem(amount, currency)
      : Number.isSafeInteger(amount) && amount > 0
        ? undefined
        : 'must be a positive integer';
    if (problem) ctx.addIssue({ code: 'custom', path: ['amount'], message: problem });
    return { amount, currency: currency! };
  });

const createPaymentSchema = z.object({
  order_id: uuidString(),
  customer_id: z.string().regex(VISIBLE_ASCII_ID, 'must be 1 to 255 visible ASCII characters'),
  amount: chargeSchema,
});

function validateCreatePayment(command: CreatePaymentCommand) {
  const { order_id, customer_id, amount } = parseOrThrow(createPaymentSchema, {
    order_id: command.orderId,
    customer_id: command.customerId,
    amount: { amount: command.amount, currency: command.currency },
  });
  return { orderId: order_id, customerId: customer_id, ...amount };
}
