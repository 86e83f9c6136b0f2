import { Injectable } from '@nestjs/common';
import type Stripe from 'stripe';
import { Clock, IdGenerator } from '#common/runtime/clock.js';
import { z } from 'zod';
import { DomainError, isDomainError } from '#common/errors.js';
import { isUuid } from '#common/uuid.js';
import { parseOrThrow, uuidString } from '#common/validation.js';
import { Untraced } from '#observability/spans.js';
import type { Transaction } from '../database/transaction.js';
import { Faults } from '../fault-injection/faults.js';
import { PaymentChanges } from '../payments/payment-changes.js';
import type { Payment } from '../payments/payment.entity.js';
import { StripeGateway } from '../stripe/stripe.gateway.js';
import { Refund, REFUND_HOLDING_STATES, type RefundState } from './refund.entity.js';
import { amountToReserve, assertRefundable } from './refund-reservation.js';
import { isFinalRefundState, nextRefundState } from './refund-state.js';
import { RefundsRepository } from './refunds.repository.js';
import { countRefund } from '#observability/business-metrics.js';

export interface ProcessRefundCommand {
  paymentId: string;
  /** Minor units as the int64 decimal string; undefined: everything not yet refunded. */
  amount?: { amount: string; currency: string };
  reason: string;
}

const REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'] as const;
type Reason = (typeof REASONS)[number];

/**
 * Refunds of succeeded payments. The amount is reserved under the payment's row lock, so
 * concurrent refunds can never add up to more than was paid; Stripe then gets a key derived from
 * our refund id, so a retry after any failure resumes the same Stripe refund.
 */
@Injectable()
export class RefundsService {
  constructor(
    private readonly refunds: RefundsRepository,
    private readonly changes: PaymentChanges,
    private readonly stripe: StripeGateway,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly faults: Faults,
  ) {}

  async processRefund(
    command: ProcessRefundCommand,
    idempotencyKey: string,
  ): Promise<{ refund: Refund; payment: Payment }> {
    const result = await this.refundOnce(command, idempotencyKey);
    this.faults.trip('after-refund');
    return result;
  }

  private async refundOnce(
    command: ProcessRefundCommand,
    idempotencyKey: string,
  ): Promise<{ refund: Refund; payment: Payment }> {
    const { amount, reason } = validate(command);
    const { refund, payment } = await this.reserve(
      command.paymentId,
      amount,
      reason,
      idempotencyKey,
    );
    if (refund.providerRefundId || isFinalRefundState(refund.status)) return { refund, payment };

    let stripeRefund: Stripe.Refund;
    try {
      stripeRefund = await this.stripe.createRefund({
        paymentIntentId: payment.providerPaymentId!,
        amount: refund.amount,
        reason: refund.reason as Reason | undefined,
        metadata: { refund_id: refund.id, payment_id: payment.id, order_id: payment.orderId },
        idempotencyKey: `refund-${refund.id}-create`,
      });
    } catch (error) {
      // Stripe refused for good: free the reserved amount. Transient: keep it for the retry.
      if (isDomainError(error) && error.code === 'precondition_failed') {
        await this.refunds.markFailed(refund.id, error.message, this.clock.now());
      }
      throw error;
    }
    const updated = await this.changes.change({ id: payment.id }, (locked, tx) =>
      this.applyStripeRefund(locked, stripeRefund, tx),
    );
    const recorded = (await this.refunds.findById(refund.id))!;
    countRefund(recorded.status);
    return { refund: recorded, payment: updated! };
  }

  /**
   * Brings our record of a Stripe refund up to date (creating it when the refund was made
   * elsewhere, e.g. in the Dashboard) and the payment's refunded total with it. Call with the
   * payment locked; returns whether the payment's state changed.
   */
  async applyStripeRefund(
    payment: Payment,
    stripeRefund: Stripe.Refund,
    tx: Transaction,
  ): Promise<boolean> {
    const ourId = stripeRefund.metadata?.refund_id;
    let refund =
      (await this.refunds.findByProviderRefundId(tx, stripeRefund.id)) ??
      (ourId && isUuid(ourId) ? await this.refunds.findOfPayment(tx, ourId, payment.id) : null);
    const status = refundState(stripeRefund.status);
    const now = this.clock.now();
    if (!refund) {
      refund = Object.assign(new Refund(), {
        id: this.ids.uuid(),
        paymentId: payment.id,
        amount: stripeRefund.amount,
        currency: stripeRefund.currency,
        status,
        reason: stripeRefund.reason ?? null,
        providerRefundId: stripeRefund.id,
        failureReason: stripeRefund.failure_reason ?? null,
        idempotencyKey: null,
        createdAt: now,
        updatedAt: now,
      });
      await this.refunds.insert(tx, refund);
    } else if (
      refund.providerRefundId !== stripeRefund.id ||
      nextRefundState(refund.status, status) !== refund.status
    ) {
      await this.refunds.recordProgress(tx, refund.id, {
        providerRefundId: stripeRefund.id,
        status: nextRefundState(refund.status, status),
        failureReason: stripeRefund.failure_reason ?? refund.failureReason,
        updatedAt: now,
      });
    }
    const refunded = await this.refunds.total(tx, payment.id, ['succeeded']);
    if (refunded === payment.amountRefunded) return false;
    payment.amountRefunded = refunded;
    return true;
  }

  /**
   * Reserves the refund's amount under the payment's row lock, or finds the refund this key made
   * before. The payment itself does not change: nothing is saved or notified for it.
   */
  private async reserve(
    paymentId: string,
    amount: { amount: number; currency: string } | undefined,
    reason: Reason | undefined,
    idempotencyKey: string,
  ): Promise<{ refund: Refund; payment: Payment }> {
    let refund: Refund | undefined;
    const payment = await this.changes.change({ id: paymentId }, async (locked, tx) => {
      refund = await this.reserveIn(tx, locked, amount, reason, idempotencyKey);
      return false;
    });
    if (!payment) throw new DomainError('not_found', `Payment ${paymentId} does not exist.`);
    return { refund: refund!, payment };
  }

  @Untraced()
  private async reserveIn(
    tx: Transaction,
    payment: Payment,
    amount: { amount: number; currency: string } | undefined,
    reason: Reason | undefined,
    idempotencyKey: string,
  ): Promise<Refund> {
    const earlier = await this.refunds.findByIdempotencyKey(tx, idempotencyKey);
    if (earlier) {
      if (earlier.paymentId !== payment.id) {
        throw new DomainError(
          'idempotency_key_reused',
          'This idempotency key already refunded another payment.',
        );
      }
      return earlier;
    }
    assertRefundable(payment, amount);
    const held = await this.refunds.total(tx, payment.id, REFUND_HOLDING_STATES);
    const requested = amountToReserve(payment, held, amount?.amount);
    const now = this.clock.now();
    const refund = Object.assign(new Refund(), {
      id: this.ids.uuid(),
      paymentId: payment.id,
      amount: requested,
      currency: payment.currency,
      status: 'creating',
      reason: reason ?? null,
      providerRefundId: null,
      failureReason: null,
      idempotencyKey,
      createdAt: now,
      updatedAt: now,
    } satisfies Refund);
    await this.refunds.insert(tx, refund);
    return refund;
  }
}

function refundState(status: string | null): RefundState {
  switch (status) {
    case 'succeeded':
    case 'failed':
    case 'canceled':
    case 'requires_action':
      return status;
    default:
      return 'pending';
  }
}

/** ProcessRefund's fields, keyed by the proto's names: the errors name the fields so. */
const processRefundSchema = z.object({
  payment_id: uuidString(),
  // Unset in the request: null from the loader, undefined from other callers.
  amount: z
    .object({ amount: z.string(), currency: z.string() })
    .nullish()
    .transform((money, ctx) => {
      if (!money) return undefined;
      const amount = /^\d{1,15}$/.test(money.amount) ? Number(money.amount) : 0;
      if (amount < 1) {
        ctx.addIssue({ code: 'custom', path: ['amount'], message: 'must be a positive integer' });
      }
      return { amount, currency: money.currency };
    }),
  // The proto's empty string is no reason.
  reason: z
    .string()
    .transform((reason) => reason || undefined)
    .pipe(z.enum(REASONS, { error: `must be one of ${REASONS.join(', ')}, or empty` }).optional()),
});

function validate(command: ProcessRefundCommand): {
  amount?: { amount: number; currency: string };
  reason?: Reason;
} {
  const { amount, reason } = parseOrThrow(processRefundSchema, {
    payment_id: command.paymentId,
    amount: command.amount,
    reason: command.reason,
  });
  return { amount, reason };
}
