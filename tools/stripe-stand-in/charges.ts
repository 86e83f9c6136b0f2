import type Stripe from 'stripe';
import { resourceMissing } from './errors.js';
import { objectId, randomAlphanumeric } from './ids.js';
import { LIST_PARAMS, listPage } from './list.js';
import { ok, type Router } from './router.js';
import type { Store } from './store.js';
import { billingDetails, cardDetails, type Decline, type TestCard } from './test-cards.js';

export type ChargeState =
  | { status: 'succeeded'; capture: boolean; authenticated?: boolean }
  | { status: 'pending' }
  | { status: 'failed'; decline: Decline };

/** A Charge for a payment attempt of `intent`, shaped like the one Stripe creates. */
export function createCharge(
  intent: Stripe.PaymentIntent,
  paymentMethod: string,
  card: TestCard,
  state: ChargeState,
  now = Date.now(),
): Stripe.Charge {
  const id = objectId('ch');
  const current = chargeState(intent.amount, card, state);
  return {
    id,
    object: 'charge',
    amount: intent.amount,
    amount_captured: current.amount_captured,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: intent.application_fee_amount,
    balance_transaction: current.balance_transaction,
    billing_details: billingDetails(),
    calculated_statement_descriptor: intent.statement_descriptor ?? 'STRIPE STAND-IN',
    captured: current.captured,
    created: Math.floor(now / 1000),
    currency: intent.currency,
    customer: intent.customer,
    description: intent.description,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: current.failure_code,
    failure_message: current.failure_message,
    fraud_details: {},
    livemode: false,
    metadata: { ...intent.metadata },
    on_behalf_of: intent.on_behalf_of,
    outcome: current.outcome,
    paid: current.paid,
    payment_intent: intent.id,
    payment_method: paymentMethod,
    payment_method_details: current.payment_method_details,
    receipt_email: intent.receipt_email,
    receipt_number: null,
    receipt_url: `https://pay.stripe.com/receipts/payment/${randomAlphanumeric(88)}?s=ap`,
    refunded: false,
    refunds: { object: 'list', data: [], has_more: false, url: `/v1/charges/${id}/refunds` },
    review: null,
    shipping: intent.shipping,
    source: null,
    source_transfer: null,
    statement_descriptor: intent.statement_descriptor,
    statement_descriptor_suffix: intent.statement_descriptor_suffix,
    status: current.status,
    transfer_data: intent.transfer_data
      ? {
          amount: intent.transfer_data.amount ?? null,
          destination: intent.transfer_data.destination,
        }
      : null,
    transfer_group: intent.transfer_group,
  };
}

/** The fields of a Charge that follow from its state; assign them to move it to that state. */
export function chargeState(
  amount: number,
  card: TestCard,
  state: ChargeState,
): Pick<
  Stripe.Charge,
  | 'amount_captured'
  | 'balance_transaction'
  | 'captured'
  | 'failure_code'
  | 'failure_message'
  | 'outcome'
  | 'paid'
  | 'payment_method_details'
  | 'status'
> {
  switch (state.status) {
    case 'succeeded':
      return {
        amount_captured: state.capture ? amount : 0,
        balance_transaction: state.capture ? objectId('txn') : null,
        captured: state.capture,
        failure_code: null,
        failure_message: null,
        outcome: {
          advice_code: null,
          network_advice_code: null,
          network_decline_code: null,
          network_status: 'approved_by_network',
          reason: null,
          risk_level: card.behaviour === 'dispute' ? 'elevated' : 'normal',
          risk_score: card.behaviour === 'dispute' ? 67 : 32,
          seller_message: 'Payment complete.',
          type: 'authorized',
        },
        paid: true,
        payment_method_details: cardDetails(card, amount, {
          authorized: true,
          authenticated: state.authenticated,
        }),
        status: 'succeeded',
      };
    case 'pending':
      return {
        amount_captured: 0,
        balance_transaction: null,
        captured: false,
        failure_code: null,
        failure_message: null,
        outcome: null,
        paid: false,
        payment_method_details: cardDetails(card, amount, { authorized: false }),
        status: 'pending',
      };
    case 'failed': {
      const { decline } = state;
      return {
        amount_captured: 0,
        balance_transaction: null,
        captured: false,
        failure_code: decline.code,
        failure_message: decline.message,
        outcome: {
          advice_code: null,
          network_advice_code: null,
          network_decline_code: null,
          network_status: decline.networkStatus,
          reason: decline.declineCode,
          risk_level: 'normal',
          risk_score: 45,
          seller_message: decline.sellerMessage,
          type: decline.outcomeType,
        },
        paid: false,
        payment_method_details: cardDetails(card, amount, {
          authorized: false,
          cvcCheck: decline.code === 'incorrect_cvc' ? 'fail' : 'pass',
        }),
        status: 'failed',
      };
    }
  }
}

/** Keeps `charge.refunds` (the refunds of the charge, newest first) in step with the store. */
export function syncRefundList(store: Store, charge: Stripe.Charge): void {
  const refunds = store.refunds.all().filter((refund) => refund.charge === charge.id);
  charge.refunds = {
    object: 'list',
    data: structuredClone(refunds.reverse()),
    has_more: false,
    url: `/v1/charges/${charge.id}/refunds`,
  };
}

export function findCharge(store: Store, id: string, param: string, status = 404): Stripe.Charge {
  const charge = store.charges.get(id);
  if (!charge) throw resourceMissing('charge', id, param, status);
  return charge;
}

export function registerCharges(router: Router, store: Store): void {
  router
    .get('/v1/charges', ({ params }) => {
      params.allowOnly([...LIST_PARAMS, 'customer', 'payment_intent', 'transfer_group']);
      const filters = {
        customer: params.string('customer'),
        payment_intent: params.string('payment_intent'),
        transfer_group: params.string('transfer_group'),
      };
      const charges = store.charges
        .all()
        .filter((charge) =>
          Object.entries(filters).every(
            ([key, value]) => value === undefined || charge[key as keyof typeof filters] === value,
          ),
        );
      return ok(listPage(charges, params, { url: '/v1/charges', objectName: 'charge' }));
    })
    .get('/v1/charges/:charge', ({ params, pathParams }) => {
      params.allowOnly(['expand']);
      return ok(findCharge(store, pathParams['charge'], 'charge'));
    });
}
