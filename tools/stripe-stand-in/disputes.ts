import type Stripe from 'stripe';
import type { Context } from './context.js';
import { resourceMissing } from './errors.js';
import { AUTOMATIC } from './events.js';
import { objectId } from './ids.js';
import { LIST_PARAMS, listPage } from './list.js';
import { ok, type Router } from './router.js';

const EVIDENCE_DAYS = 7;

/**
 * What `pm_card_createDispute` does some time after its payment: the cardholder disputes the charge
 * as fraudulent. Emits `charge.dispute.created`.
 */
export function openDispute(
  { store, events }: Context,
  chargeId: string,
): Stripe.Dispute | undefined {
  const charge = store.charges.get(chargeId);
  if (!charge || charge.disputed) return undefined;
  const now = Math.floor(Date.now() / 1000);
  const dispute = store.disputes.insert({
    id: objectId('dp'),
    object: 'dispute',
    amount: charge.amount,
    balance_transactions: [],
    charge: charge.id,
    created: now,
    currency: charge.currency,
    enhanced_eligibility_types: ['visa_compelling_evidence_3'],
    evidence: {
      access_activity_log: null,
      billing_address: null,
      cancellation_policy: null,
      cancellation_policy_disclosure: null,
      cancellation_rebuttal: null,
      customer_communication: null,
      customer_email_address: null,
      customer_name: null,
      customer_purchase_ip: null,
      customer_signature: null,
      duplicate_charge_documentation: null,
      duplicate_charge_explanation: null,
      duplicate_charge_id: null,
      enhanced_evidence: {},
      product_description: null,
      receipt: null,
      refund_policy: null,
      refund_policy_disclosure: null,
      refund_refusal_explanation: null,
      service_date: null,
      service_documentation: null,
      shipping_address: null,
      shipping_carrier: null,
      shipping_date: null,
      shipping_documentation: null,
      shipping_tracking_number: null,
      uncategorized_file: null,
      uncategorized_text: null,
    },
    evidence_details: {
      due_by: endOfDay(now + EVIDENCE_DAYS * 24 * 60 * 60),
      enhanced_eligibility: {},
      has_evidence: false,
      past_due: false,
      submission_count: 0,
      submission_method: 'not_submitted',
    },
    intended_submission_method: null,
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    network_reason_code: '10.4',
    payment_intent: typeof charge.payment_intent === 'string' ? charge.payment_intent : null,
    payment_method_details: {
      card: {
        brand: 'visa',
        case_type: 'chargeback',
        network: 'visa',
        network_reason_code: '10.4',
      },
      type: 'card',
    },
    reason: 'fraudulent',
    status: 'needs_response',
  });
  charge.disputed = true;
  events.emit('charge.dispute.created', dispute, AUTOMATIC);
  return dispute;
}

function endOfDay(unixSeconds: number): number {
  const day = 24 * 60 * 60;
  return Math.floor(unixSeconds / day) * day + day - 1;
}

export function registerDisputes(router: Router, { store }: Context): void {
  router
    .get('/v1/disputes', ({ params }) => {
      params.allowOnly([...LIST_PARAMS, 'charge', 'payment_intent']);
      const charge = params.string('charge');
      const paymentIntent = params.string('payment_intent');
      const disputes = store.disputes
        .all()
        .filter(
          (dispute) =>
            (charge === undefined || dispute.charge === charge) &&
            (paymentIntent === undefined || dispute.payment_intent === paymentIntent),
        );
      return ok(listPage(disputes, params, { url: '/v1/disputes', objectName: 'dispute' }));
    })
    .get('/v1/disputes/:dispute', ({ params, pathParams }) => {
      params.allowOnly(['expand']);
      const dispute = store.disputes.get(pathParams['dispute']);
      if (!dispute) throw resourceMissing('dispute', pathParams['dispute'], 'dispute');
      return ok(dispute);
    });
}
