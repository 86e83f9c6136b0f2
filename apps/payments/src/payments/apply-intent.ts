import type Stripe from 'stripe';
import type { Payment } from './payment.entity.js';
import { canPaymentTransition, isPaymentState } from './payment-state.js';

/**
 * Brings a payment up to what a PaymentIntent says, as of `at` (when Stripe produced it). News
 * older than what the payment holds, and moves the transition table forbids, change nothing: an
 * old `processing` never undoes a success. Returns whether anything changed.
 */
export function applyIntent(payment: Payment, intent: Stripe.PaymentIntent, at: Date): boolean {
  if (payment.stripeStatusAt && at < payment.stripeStatusAt) return false;
  if (!isPaymentState(intent.status) || !canPaymentTransition(payment.status, intent.status)) {
    return false;
  }
  const before = JSON.stringify(snapshot(payment));
  payment.status = intent.status;
  payment.providerPaymentId ??= intent.id;
  const error = intent.last_payment_error;
  if (intent.status === 'requires_payment_method' && error) {
    payment.failureCode = error.decline_code ?? error.code ?? error.type;
    payment.failureMessage = error.message ?? null;
  } else if (intent.status === 'succeeded' || intent.status === 'processing') {
    payment.failureCode = null;
    payment.failureMessage = null;
  }
  const charge = intent.latest_charge;
  if (typeof charge === 'string') payment.latestChargeId = charge;
  else if (charge) applyCharge(payment, charge);
  const changed = JSON.stringify(snapshot(payment)) !== before;
  if (changed) payment.stripeStatusAt = at;
  return changed;
}

/** Takes the receipt and the dispute flag from the payment's charge. */
export function applyCharge(payment: Payment, charge: Stripe.Charge): boolean {
  const before = JSON.stringify(snapshot(payment));
  payment.latestChargeId = charge.id;
  if (charge.receipt_url) payment.receiptUrl = charge.receipt_url;
  if (charge.disputed) payment.disputed = true;
  return JSON.stringify(snapshot(payment)) !== before;
}

function snapshot(payment: Payment) {
  const { status, failureCode, failureMessage, latestChargeId, receiptUrl, disputed } = payment;
  return { status, failureCode, failureMessage, latestChargeId, receiptUrl, disputed };
}
