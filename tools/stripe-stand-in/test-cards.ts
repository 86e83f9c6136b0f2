import { createHash, randomInt, randomUUID } from 'node:crypto';
import type Stripe from 'stripe';

/** What confirming a PaymentIntent with a test card does. */
export type CardBehaviour =
  /** Succeeds (all cards below that are not listed otherwise). */
  | 'succeed'
  /** Declined with `decline`. */
  | 'decline'
  /** Needs 3D Secure: the PaymentIntent goes to `requires_action`. */
  | 'authenticate'
  /** Succeeds, then a fraudulent dispute is opened on the charge. */
  | 'dispute'
  /** Succeeds; refunds of its charge succeed at first and then fail. */
  | 'refund_fail'
  /** Stays `processing` until a test settles it (stand-in specific). */
  | 'processing';

export interface Decline {
  /** Stripe's error `code`, also the charge's `failure_code`. */
  code: string;
  declineCode: string;
  message: string;
  sellerMessage: string;
  networkStatus: string;
  outcomeType: string;
}

export interface TestCard {
  brand: 'amex' | 'mastercard' | 'visa';
  last4: string;
  funding: 'credit' | 'debit';
  behaviour: CardBehaviour;
  decline?: Decline;
}

function declined(declineCode: string, message: string, code = 'card_declined'): Decline {
  return {
    code,
    declineCode,
    message,
    sellerMessage:
      declineCode === 'generic_decline'
        ? 'The bank did not return any further details with this decline.'
        : `The bank returned the decline code \`${declineCode}\`.`,
    networkStatus: 'declined_by_network',
    outcomeType: 'issuer_declined',
  };
}

const visa = (last4: string, behaviour: CardBehaviour, decline?: Decline): TestCard => ({
  brand: 'visa',
  last4,
  funding: 'credit',
  behaviour,
  ...(decline && { decline }),
});

/**
 * The test PaymentMethods the stand-in knows, named as Stripe's
 * (https://docs.stripe.com/testing#cards), plus `pm_stand_in_processing`.
 */
export const TEST_CARDS: Readonly<Record<string, TestCard>> = {
  pm_card_visa: visa('4242', 'succeed'),
  pm_card_visa_debit: { ...visa('5556', 'succeed'), funding: 'debit' },
  pm_card_mastercard: { ...visa('4444', 'succeed'), brand: 'mastercard' },
  pm_card_amex: { ...visa('8431', 'succeed'), brand: 'amex' },
  pm_card_visa_chargeDeclined: visa(
    '0002',
    'decline',
    declined('generic_decline', 'Your card was declined.'),
  ),
  pm_card_visa_chargeDeclinedInsufficientFunds: visa(
    '9995',
    'decline',
    declined('insufficient_funds', 'Your card has insufficient funds.'),
  ),
  pm_card_visa_chargeDeclinedLostCard: visa(
    '9987',
    'decline',
    declined('lost_card', 'Your card was declined.'),
  ),
  pm_card_visa_chargeDeclinedStolenCard: visa(
    '9979',
    'decline',
    declined('stolen_card', 'Your card was declined.'),
  ),
  pm_card_chargeDeclinedExpiredCard: visa(
    '0069',
    'decline',
    declined('expired_card', 'Your card has expired.', 'expired_card'),
  ),
  pm_card_chargeDeclinedIncorrectCvc: visa(
    '0127',
    'decline',
    declined('incorrect_cvc', "Your card's security code is incorrect.", 'incorrect_cvc'),
  ),
  pm_card_chargeDeclinedProcessingError: visa(
    '0119',
    'decline',
    declined(
      'processing_error',
      'An error occurred while processing your card. Try again in a little bit.',
      'processing_error',
    ),
  ),
  pm_card_authenticationRequired: visa('3184', 'authenticate'),
  pm_card_createDispute: visa('0259', 'dispute'),
  pm_card_refundFail: visa('5126', 'refund_fail'),
  pm_stand_in_processing: visa('4242', 'processing'),
};

/** The decline of a card that needs authentication when the customer cannot provide it. */
export const AUTHENTICATION_REQUIRED: Decline = {
  ...declined(
    'authentication_required',
    'Your card was declined. This transaction requires authentication.',
    'authentication_required',
  ),
};

export function testCard(id: string): TestCard | undefined {
  return Object.hasOwn(TEST_CARDS, id) ? TEST_CARDS[id] : undefined;
}

// Test cards expire in a future year; keep that true whenever the tests run.
const expiry = () => ({ exp_month: 12, exp_year: new Date().getUTCFullYear() + 3 });

function fingerprint(card: TestCard): string {
  const digest = createHash('sha256').update(`${card.brand}:${card.last4}`).digest('base64');
  return digest.replace(/[^A-Za-z0-9]/g, '').slice(0, 16);
}

const NULL_ADDRESS = {
  city: null,
  country: null,
  line1: null,
  line2: null,
  postal_code: null,
  state: null,
};

export function billingDetails(): Stripe.Charge.BillingDetails {
  return {
    address: { ...NULL_ADDRESS },
    email: null,
    name: null,
    phone: null,
    tax_id: null,
  };
}

/** The PaymentMethod object, as Stripe embeds it in card errors and `last_payment_error`. */
export function paymentMethodObject(
  id: string,
  card: TestCard,
  created: number,
): Stripe.PaymentMethod {
  return {
    id,
    object: 'payment_method',
    allow_redisplay: 'unspecified',
    billing_details: billingDetails(),
    card: {
      brand: card.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: null },
      country: 'US',
      display_brand: card.brand === 'amex' ? 'american_express' : card.brand,
      ...expiry(),
      fingerprint: fingerprint(card),
      funding: card.funding,
      generated_from: null,
      last4: card.last4,
      networks: { available: [card.brand], preferred: null },
      regulated_status: 'unregulated',
      three_d_secure_usage: { supported: true },
      wallet: null,
    },
    created,
    customer: null,
    customer_account: null,
    livemode: false,
    metadata: {},
    type: 'card',
  };
}

/** `charge.payment_method_details` for a payment with `card`. */
export function cardDetails(
  card: TestCard,
  amount: number,
  options: { authorized: boolean; cvcCheck?: 'fail' | 'pass'; authenticated?: boolean },
): Stripe.Charge.PaymentMethodDetails {
  return {
    card: {
      amount_authorized: options.authorized ? amount : null,
      authorization_code: options.authorized ? String(100000 + (amount % 900000)) : null,
      brand: card.brand,
      checks: {
        address_line1_check: null,
        address_postal_code_check: null,
        cvc_check: options.cvcCheck ?? 'pass',
      },
      country: 'US',
      electronic_commerce_indicator: options.authenticated ? '05' : null,
      ...expiry(),
      extended_authorization: { status: 'disabled' },
      fingerprint: fingerprint(card),
      funding: card.funding,
      incremental_authorization: { status: 'unavailable' },
      installments: null,
      last4: card.last4,
      mandate: null,
      multicapture: { status: 'unavailable' },
      network: card.brand,
      network_token: { used: false },
      network_transaction_id: options.authorized ? networkTransactionId() : null,
      overcapture: { maximum_amount_capturable: amount, status: 'unavailable' },
      regulated_status: 'unregulated',
      three_d_secure: options.authenticated
        ? {
            authentication_flow: 'challenge',
            electronic_commerce_indicator: '05',
            exemption_indicator: null,
            result: 'authenticated',
            result_reason: null,
            transaction_id: randomUUID(),
            version: '2.2.0',
          }
        : null,
      transaction_link_id: null,
      wallet: null,
    },
    type: 'card',
  };
}

function networkTransactionId(): string {
  let digits = '';
  for (let i = 0; i < 15; i++) digits += randomInt(10);
  return digits;
}
