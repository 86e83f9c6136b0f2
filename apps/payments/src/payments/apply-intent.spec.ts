import { describe, expect, it } from '@jest/globals';
import type Stripe from 'stripe';
import { applyCharge, applyIntent } from './apply-intent.js';
import { newPayment } from '../../../../test/support/payment-factory.js';
import type { Payment } from './payment.entity.js';

// How a payment follows what Stripe says of its PaymentIntent and charge, whichever way the news
// arrives (webhook, reconciliation, the answer to a call) and in whatever order.

const T0 = new Date('2026-12-01T10:00:00Z');
const later = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

/** A payment whose PaymentIntent exists, waiting for a payment method. */
function payment(overrides: Partial<Payment> = {}): Payment {
  return newPayment({
    status: 'requires_payment_method',
    providerPaymentId: 'pi_1',
    clientSecret: 'pi_1_secret_x',
    ...overrides,
  });
}

function intent(fields: Partial<Stripe.PaymentIntent>): Stripe.PaymentIntent {
  return {
    id: 'pi_1',
    object: 'payment_intent',
    latest_charge: null,
    ...fields,
  } as Stripe.PaymentIntent;
}

function charge(fields: Partial<Stripe.Charge>): Stripe.Charge {
  return {
    id: 'ch_1',
    object: 'charge',
    receipt_url: null,
    disputed: false,
    ...fields,
  } as Stripe.Charge;
}

describe('applyIntent', () => {
  it('takes the new status and the time Stripe produced it', () => {
    const p = payment();
    expect(applyIntent(p, intent({ status: 'succeeded', latest_charge: 'ch_1' }), later(5))).toBe(
      true,
    );
    expect(p).toMatchObject({
      status: 'succeeded',
      latestChargeId: 'ch_1',
      stripeStatusAt: later(5),
    });
  });

  it('ignores news older than what the payment holds', () => {
    const p = payment({ status: 'processing', stripeStatusAt: later(10) });
    expect(applyIntent(p, intent({ status: 'requires_action' }), later(5))).toBe(false);
    expect(p).toMatchObject({ status: 'processing', stripeStatusAt: later(10) });
  });

  it('never leaves a terminal status, even for newer news', () => {
    for (const terminal of ['succeeded', 'canceled'] as const) {
      const p = payment({ status: terminal, stripeStatusAt: later(1) });
      expect(applyIntent(p, intent({ status: 'processing' }), later(20))).toBe(false);
      expect(p.status).toBe(terminal);
    }
  });

  it('refuses a move the transition table forbids (requires_capture back to requires_action)', () => {
    const p = payment({ status: 'requires_capture' });
    expect(applyIntent(p, intent({ status: 'requires_action' }), later(1))).toBe(false);
    expect(p.status).toBe('requires_capture');
  });

  it('ignores a status it does not know', () => {
    const p = payment();
    const unknown = intent({ status: 'something_new' });
    expect(applyIntent(p, unknown, later(1))).toBe(false);
    expect(p.stripeStatusAt).toBeNull();
  });

  it('records a decline, preferring the decline code, and clears it once paid', () => {
    const p = payment({ status: 'processing' });
    const declined = intent({
      status: 'requires_payment_method',
      last_payment_error: {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'insufficient_funds',
        message: 'Your card has insufficient funds.',
      },
    });
    expect(applyIntent(p, declined, later(1))).toBe(true);
    expect(p).toMatchObject({
      failureCode: 'insufficient_funds',
      failureMessage: 'Your card has insufficient funds.',
    });

    expect(applyIntent(p, intent({ status: 'succeeded' }), later(2))).toBe(true);
    expect(p).toMatchObject({ status: 'succeeded', failureCode: null, failureMessage: null });
  });

  it('falls back to the error code, then its type, when there is no decline code', () => {
    const p = payment();
    applyIntent(
      p,
      intent({
        status: 'requires_payment_method',
        last_payment_error: { type: 'card_error', code: 'expired_card' },
      }),
      later(1),
    );
    expect(p.failureCode).toBe('expired_card');
    const q = payment();
    applyIntent(
      q,
      intent({
        status: 'requires_payment_method',
        last_payment_error: { type: 'api_error' },
      }),
      later(1),
    );
    expect(q).toMatchObject({ failureCode: 'api_error', failureMessage: null });
  });

  it('reads the receipt and the dispute from an expanded charge', () => {
    const p = payment({ status: 'processing' });
    const expanded = charge({ receipt_url: 'https://pay.stripe.com/receipts/r1', disputed: true });
    expect(applyIntent(p, intent({ status: 'succeeded', latest_charge: expanded }), later(1))).toBe(
      true,
    );
    expect(p).toMatchObject({
      latestChargeId: 'ch_1',
      receiptUrl: 'https://pay.stripe.com/receipts/r1',
      disputed: true,
    });
  });

  it('reports no change, and keeps its time, when the same news comes twice', () => {
    const p = payment();
    const news = intent({ status: 'succeeded', latest_charge: 'ch_1' });
    expect(applyIntent(p, news, later(1))).toBe(true);
    expect(applyIntent(p, news, later(3))).toBe(false);
    expect(p.stripeStatusAt).toEqual(later(1));
  });
});

describe('applyCharge', () => {
  it('takes the charge id and receipt, and reports whether anything changed', () => {
    const p = payment({ status: 'succeeded' });
    expect(applyCharge(p, charge({ receipt_url: 'https://pay.stripe.com/receipts/r1' }))).toBe(
      true,
    );
    expect(p).toMatchObject({
      latestChargeId: 'ch_1',
      receiptUrl: 'https://pay.stripe.com/receipts/r1',
    });
    expect(applyCharge(p, charge({ receipt_url: 'https://pay.stripe.com/receipts/r1' }))).toBe(
      false,
    );
  });

  it('keeps a dispute once known, and a receipt a later charge lacks', () => {
    const p = payment({ status: 'succeeded', receiptUrl: 'https://pay.stripe.com/receipts/r1' });
    expect(applyCharge(p, charge({ disputed: true }))).toBe(true);
    expect(applyCharge(p, charge({ disputed: false }))).toBe(false);
    expect(p).toMatchObject({ disputed: true, receiptUrl: 'https://pay.stripe.com/receipts/r1' });
  });
});
