import { z } from 'zod';
import { DomainError } from '#common/errors.js';
import { parseOrThrow, uuidString } from '#common/validation.js';
import type { Payment } from '#contracts/generated/payments/v1/payments.js';
import {
  PAYMENT_INTENT_STATUSES,
  type PaymentIntentStatus,
  paymentStatusName,
} from '#contracts/payment-status.js';
import type { OrderStatus } from '../order-status.js';

/** A payment as payments reported it at one version: what an order needs to follow it. */
export interface PaymentSnapshot {
  orderId: string;
  paymentId: string;
  status: PaymentIntentStatus;
  /** Increases with every change of the payment; older or equal versions are stale. */
  version: bigint;
  /** Minor units refunded so far. */
  amountRefunded: number;
  disputed: boolean;
  /** Why the last attempt to pay failed; null when it did not. */
  failureCode: string | null;
}

/**
 * The order status a payment calls for. A full refund wins over a dispute: the money is back with
 * the customer and `refunded` is terminal. Otherwise an open dispute wins over (partial) refunds.
 */
export function orderStatusForPayment(
  payment: Pick<PaymentSnapshot, 'status' | 'amountRefunded' | 'disputed' | 'failureCode'>,
  orderAmount: number,
): OrderStatus {
  switch (payment.status) {
    case 'succeeded':
      if (payment.amountRefunded >= orderAmount) return 'refunded';
      if (payment.disputed) return 'disputed';
      return payment.amountRefunded > 0 ? 'partially_refunded' : 'paid';
    case 'requires_payment_method':
      // Stripe returns a PaymentIntent to requires_payment_method after a decline.
      return payment.failureCode ? 'payment_failed' : 'awaiting_payment';
    case 'requires_confirmation':
    case 'requires_action':
    case 'processing':
    case 'requires_capture':
      return 'awaiting_payment';
    case 'canceled':
      return 'canceled';
  }
}

const INT64_MAX = 2n ** 63n - 1n;

/** The payment fields of payments.v1 and orders.v1 messages (int64 as decimal strings). */
const grpcSnapshot = z.object({
  orderId: uuidString(),
  paymentId: uuidString(),
  paymentStatus: z
    .string()
    .transform(paymentStatusName)
    .pipe(
      z.enum(PAYMENT_INTENT_STATUSES, {
        error: 'must be a PaymentStatus other than PAYMENT_STATUS_UNSPECIFIED',
      }),
    ),
  paymentVersion: z
    .string()
    .regex(/^[1-9]\d{0,18}$/, 'must be a positive int64')
    .transform(BigInt)
    .refine((version) => version <= INT64_MAX, 'must be a positive int64'),
  amountRefunded: z
    .string()
    .regex(/^\d{1,15}$/, 'must be a non-negative number of minor units')
    .transform(Number),
  disputed: z.boolean(),
  failureCode: z.string().max(255, 'must be at most 255 characters'),
});

export type GrpcPaymentFields = z.input<typeof grpcSnapshot>;

/** Validates payment fields that arrived over gRPC; bad input is a validation error. */
export function parseGrpcSnapshot(fields: GrpcPaymentFields): PaymentSnapshot {
  const parsed = parseOrThrow(grpcSnapshot, fields);
  return {
    orderId: parsed.orderId,
    paymentId: parsed.paymentId,
    status: parsed.paymentStatus,
    version: parsed.paymentVersion,
    amountRefunded: parsed.amountRefunded,
    disputed: parsed.disputed,
    failureCode: parsed.failureCode || null,
  };
}

/**
 * The snapshot in a payment that payments returned (CancelPayment, ProcessRefund, GetPayment). A
 * malformed one is payments' fault, not the client's: an internal error.
 */
export function snapshotOfPayment(payment: Payment): PaymentSnapshot {
  try {
    return parseGrpcSnapshot({
      orderId: payment.orderId,
      paymentId: payment.id,
      paymentStatus: payment.status,
      paymentVersion: payment.version,
      amountRefunded: payment.amountRefunded,
      disputed: payment.disputed,
      failureCode: payment.failureCode,
    });
  } catch (error) {
    throw new DomainError(
      'internal',
      `payments answered with an unusable payment ${payment.id}.`,
      [],
      {
        cause: error,
      },
    );
  }
}
