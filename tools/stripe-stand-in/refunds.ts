import type Stripe from 'stripe';
import { findCharge, syncRefundList } from './charges.js';
import type { Context } from './context.js';
import { formatMoney } from './currencies.js';
import { invalidParam, invalidRequest, resourceMissing } from './errors.js';
import { AUTOMATIC, previousAttributes, type EventOrigin } from './events.js';
import { objectId } from './ids.js';
import { origin } from './intent-lifecycle.js';
import { LIST_PARAMS, listPage } from './list.js';
import type { ParamReader } from './params.js';
import { ok, type Router } from './router.js';
import type { Store } from './store.js';
import { testCard } from './test-cards.js';

const CREATE_PARAMS = [
  'amount',
  'charge',
  'currency',
  'customer',
  'expand',
  'instructions_email',
  'metadata',
  'origin',
  'payment_intent',
  'reason',
  'refund_application_fee',
  'reverse_transfer',
];

/** What a failing refund of a `pm_card_refundFail` payment reports, as Stripe's test card does. */
const REFUND_FAILURE_REASON = 'expired_or_canceled_card';

export function registerRefunds(router: Router, context: Context): void {
  const { store } = context;
  router
    .post('/v1/refunds', (request) => {
      const { params } = request;
      params.allowOnly(CREATE_PARAMS);
      const amount = params.integer('amount');
      if (amount !== undefined && amount < 1) {
        throw invalidParam('amount', `Invalid positive integer: ${amount}`);
      }
      const reason =
        params.enumeration('reason', ['duplicate', 'fraudulent', 'requested_by_customer']) ?? null;
      const metadata = params.metadata();
      const charge = refundableCharge(store, params);
      return ok(createRefund(context, charge, { amount, reason, metadata }, origin(request)));
    })
    .get('/v1/refunds', ({ params }) => {
      params.allowOnly([...LIST_PARAMS, 'charge', 'payment_intent']);
      const charge = params.string('charge');
      const paymentIntent = params.string('payment_intent');
      const refunds = store.refunds
        .all()
        .filter(
          (refund) =>
            (charge === undefined || refund.charge === charge) &&
            (paymentIntent === undefined || refund.payment_intent === paymentIntent),
        );
      return ok(listPage(refunds, params, { url: '/v1/refunds', objectName: 'refund' }));
    })
    .get('/v1/refunds/:refund', ({ params, pathParams }) => {
      params.allowOnly(['expand']);
      const refund = store.refunds.get(pathParams['refund']);
      if (!refund) throw resourceMissing('refund', pathParams['refund'], 'refund');
      return ok(refund);
    });
}

/** The succeeded, captured charge a refund request names directly or through its PaymentIntent. */
function refundableCharge(store: Store, params: ParamReader): Stripe.Charge {
  const chargeId = params.string('charge');
  const intentId = params.string('payment_intent');
  if (chargeId === undefined && intentId === undefined) {
    throw invalidParam(
      'charge',
      'One of the following params should be provided for this request: charge or payment_intent.',
      'parameter_missing',
    );
  }
  let charge = chargeId === undefined ? undefined : findCharge(store, chargeId, 'charge', 400);
  const intent =
    intentId !== undefined
      ? store.paymentIntents.get(intentId)
      : typeof charge?.payment_intent === 'string'
        ? store.paymentIntents.get(charge.payment_intent)
        : undefined;
  if (intentId !== undefined && !intent) {
    throw resourceMissing('payment_intent', intentId, 'payment_intent', 400);
  }
  if (intentId !== undefined && intent) {
    const latest =
      typeof intent.latest_charge === 'string'
        ? store.charges.get(intent.latest_charge)
        : undefined;
    if (charge && latest && charge.id !== latest.id) {
      throw invalidRequest(`Charge ${charge.id} does not belong to PaymentIntent ${intent.id}.`, {
        param: 'charge',
      });
    }
    charge = latest;
  }
  if (!charge || charge.status !== 'succeeded' || !charge.captured) {
    if (intent) {
      throw invalidRequest(
        `This PaymentIntent (${intent.id}) does not have a successful charge to refund.`,
        { param: 'payment_intent' },
      );
    }
    throw invalidRequest(`Charge ${chargeId} has not succeeded; it cannot be refunded.`, {
      param: 'charge',
    });
  }
  const dispute = store.disputes.all().find((candidate) => candidate.charge === charge.id);
  if (charge.disputed && dispute && !dispute.is_charge_refundable) {
    throw invalidRequest(`Charge ${charge.id} has been charged back; cannot issue a refund.`, {
      code: 'charge_disputed',
    });
  }
  return charge;
}

function createRefund(
  context: Context,
  charge: Stripe.Charge,
  request: { amount?: number; reason: Stripe.Refund.Reason | null; metadata: Stripe.Metadata },
  eventOrigin: EventOrigin,
): Stripe.Refund {
  const { store, events } = context;
  // The part of an authorization that was never captured counts as refunded.
  const remaining = charge.amount - charge.amount_refunded;
  if (remaining <= 0) {
    throw invalidRequest(`Charge ${charge.id} has already been refunded.`, {
      code: 'charge_already_refunded',
    });
  }
  const amount = request.amount ?? remaining;
  if (amount > remaining) {
    const what = charge.amount_refunded === 0 ? 'charge amount' : 'unrefunded amount on charge';
    throw invalidRequest(
      `Refund amount (${formatMoney(amount, charge.currency)}) is greater than ${what} (${formatMoney(remaining, charge.currency)})`,
      { code: 'amount_too_large', param: 'amount' },
    );
  }

  const refund = store.refunds.insert({
    id: objectId('re'),
    object: 'refund',
    amount,
    balance_transaction: objectId('txn'),
    charge: charge.id,
    created: Math.floor(Date.now() / 1000),
    currency: charge.currency,
    customer: typeof charge.customer === 'string' ? charge.customer : null,
    customer_account: null,
    destination_details: { card: { type: 'reversal' }, type: 'card' },
    metadata: request.metadata,
    payment_intent: charge.payment_intent,
    payment_method: charge.payment_method,
    reason: request.reason,
    receipt_number: null,
    source_transfer_reversal: null,
    // Card refunds succeed at once in test mode, even those of pm_card_refundFail at first.
    status: 'succeeded',
    transfer_reversal: null,
  });

  const before = structuredClone(charge);
  charge.amount_refunded += amount;
  charge.refunded = charge.amount_refunded >= charge.amount;
  const previous = previousAttributes(before, charge);
  syncRefundList(store, charge);
  events.emit('refund.created', refund, eventOrigin);
  events.emit('charge.refunded', charge, eventOrigin, previous);

  if (testCard(charge.payment_method ?? '')?.behaviour === 'refund_fail') {
    context.followUps.after(() => failRefund(context, refund.id));
  }
  return refund;
}

/**
 * What happens to refunds of `pm_card_refundFail` payments some time after they succeeded: the
 * refund fails, its amount goes back to the charge. Emits `refund.updated` then `refund.failed`.
 */
function failRefund({ store, events }: Context, refundId: string): void {
  const refund = store.refunds.get(refundId);
  if (!refund || refund.status !== 'succeeded') return;
  const before = structuredClone(refund);
  Object.assign(refund, {
    status: 'failed',
    failure_reason: REFUND_FAILURE_REASON,
    failure_balance_transaction: objectId('txn'),
  } satisfies Partial<Stripe.Refund>);
  const charge = typeof refund.charge === 'string' ? store.charges.get(refund.charge) : undefined;
  if (charge) {
    charge.amount_refunded -= refund.amount;
    charge.refunded = false;
    syncRefundList(store, charge);
  }
  events.emit('refund.updated', refund, AUTOMATIC, previousAttributes(before, refund));
  events.emit('refund.failed', refund, AUTOMATIC);
}
