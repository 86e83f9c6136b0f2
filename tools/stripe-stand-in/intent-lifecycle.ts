import type Stripe from 'stripe';
import { chargeState, createCharge } from './charges.js';
import type { Context } from './context.js';
import { openDispute } from './disputes.js';
import {
  StripeApiError,
  docUrl,
  invalidParam,
  invalidRequest,
  resourceMissing,
  unexpectedState,
} from './errors.js';
import { AUTOMATIC, previousAttributes, type EventOrigin } from './events.js';
import { objectId, randomAlphanumeric } from './ids.js';
import type { ParamReader } from './params.js';
import { ok, type ApiRequest, type Router } from './router.js';
import type { Store } from './store.js';
import {
  AUTHENTICATION_REQUIRED,
  TEST_CARDS,
  paymentMethodObject,
  testCard,
  type Decline,
  type TestCard,
} from './test-cards.js';

type PaymentIntent = Stripe.PaymentIntent;
type Status = Stripe.PaymentIntent.Status;

/** Every parameter PaymentIntentConfirmParams documents, and `client_secret` (publishable keys). */
const CONFIRM_PARAMS = [
  'allowed_payment_method_types',
  'amount_details',
  'amount_to_confirm',
  'capture_method',
  'client_secret',
  'confirmation_token',
  'error_on_requires_action',
  'excluded_payment_method_types',
  'expand',
  'hooks',
  'mandate',
  'mandate_data',
  'off_session',
  'payment_details',
  'payment_method',
  'payment_method_data',
  'payment_method_options',
  'payment_method_types',
  'radar_options',
  'receipt_email',
  'return_url',
  'setup_future_usage',
  'shipping',
  'use_stripe_sdk',
];

const CONFIRMABLE: readonly Status[] = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
];

/**
 * Stripe's message lists `processing` too: some asynchronous payment methods can be canceled while
 * processing. Card payments cannot, and the stand-in's `processing` is a card payment whose outcome
 * the bank has not reported yet, so it refuses to cancel it (see cancelPaymentIntent).
 */
const CANCELABLE: readonly Status[] = [
  'requires_payment_method',
  'requires_capture',
  'requires_confirmation',
  'requires_action',
];

const AUTHENTICATION_FAILURE_MESSAGE =
  'The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.';

export interface ConfirmOptions {
  /** The `payment_method` parameter, when given. */
  paymentMethod?: string;
  returnUrl?: string;
  /** The customer is not there to authenticate (`off_session`, `error_on_requires_action`). */
  cannotAuthenticate: boolean;
}

export function registerIntentLifecycle(router: Router, context: Context): void {
  router
    .post('/v1/payment_intents/:intent/confirm', (request) => {
      const { params, pathParams } = request;
      params.allowOnly(CONFIRM_PARAMS);
      const options = confirmOptions(params);
      const updates = confirmUpdates(params);
      const intent = findPaymentIntent(context.store, pathParams['intent'], 'intent');
      checkConfirmable(intent, options);
      Object.assign(intent, updates);
      return ok(confirmPaymentIntent(context, intent, options, origin(request)));
    })
    .post('/v1/payment_intents/:intent/cancel', (request) => {
      const { params, pathParams } = request;
      params.allowOnly(['cancellation_reason', 'expand']);
      const reason =
        params.enumeration('cancellation_reason', [
          'abandoned',
          'duplicate',
          'fraudulent',
          'requested_by_customer',
        ]) ?? null;
      const intent = findPaymentIntent(context.store, pathParams['intent'], 'intent');
      return ok(cancelPaymentIntent(context, intent, reason, origin(request)));
    })
    .post('/v1/payment_intents/:intent/capture', (request) => {
      const { params, pathParams } = request;
      params.allowOnly([
        'amount_details',
        'amount_to_capture',
        'application_fee_amount',
        'expand',
        'final_capture',
        'hooks',
        'metadata',
        'payment_details',
        'statement_descriptor',
        'statement_descriptor_suffix',
        'transfer_data',
      ]);
      const amount = params.integer('amount_to_capture');
      const metadata = params.metadata();
      const intent = findPaymentIntent(context.store, pathParams['intent'], 'intent');
      return ok(capturePaymentIntent(context, intent, amount, metadata, origin(request)));
    });
}

export function findPaymentIntent(store: Store, id: string, param: string): PaymentIntent {
  const intent = store.paymentIntents.get(id);
  if (!intent) throw resourceMissing('payment_intent', id, param);
  return intent;
}

export function origin(request: ApiRequest): EventOrigin {
  return { id: request.requestId, idempotency_key: request.idempotencyKey ?? null };
}

/** The confirmation parameters of a confirm request, or of a create request with `confirm`. */
export function confirmOptions(params: ParamReader): ConfirmOptions {
  const offSession = params.string('off_session');
  if (offSession !== undefined && !['true', 'false', 'one_off', 'recurring'].includes(offSession)) {
    throw invalidParam('off_session', `Invalid off_session: ${offSession}`);
  }
  const paymentMethod = params.string('payment_method');
  const returnUrl = params.string('return_url');
  if (returnUrl !== undefined && !URL.canParse(returnUrl)) {
    throw invalidParam('return_url', 'Not a valid URL', 'url_invalid');
  }
  if (paymentMethod !== undefined && !testCard(paymentMethod)) {
    throw new StripeApiError(
      400,
      {
        type: 'invalid_request_error',
        code: 'resource_missing',
        param: 'payment_method',
        message: `No such PaymentMethod: '${paymentMethod}'`,
      },
      false,
    );
  }
  return {
    ...(paymentMethod !== undefined && { paymentMethod }),
    ...(returnUrl !== undefined && { returnUrl }),
    cannotAuthenticate:
      (offSession !== undefined && offSession !== 'false') ||
      params.boolean('error_on_requires_action') === true,
  };
}

/** Fields a confirm request may change on the PaymentIntent along the way. */
function confirmUpdates(params: ParamReader): Partial<PaymentIntent> {
  const updates: Partial<PaymentIntent> = {};
  const captureMethod = params.enumeration('capture_method', [
    'automatic',
    'automatic_async',
    'manual',
  ]);
  if (captureMethod) updates.capture_method = captureMethod;
  const receiptEmail = params.string('receipt_email');
  if (receiptEmail) updates.receipt_email = receiptEmail;
  const setupFutureUsage = params.enumeration('setup_future_usage', ['off_session', 'on_session']);
  if (setupFutureUsage) updates.setup_future_usage = setupFutureUsage;
  return updates;
}

function checkConfirmable(intent: PaymentIntent, options: ConfirmOptions): void {
  if (intent.status === 'succeeded') {
    throw unexpectedState(
      'You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed.',
      intent,
    );
  }
  if (!CONFIRMABLE.includes(intent.status)) {
    throw unexpectedState(
      options.paymentMethod !== undefined
        ? `This PaymentIntent's payment_method could not be updated because it has a status of ${intent.status}. You may only update the payment_method of a PaymentIntent with one of the following statuses: ${CONFIRMABLE.join(', ')}.`
        : `You cannot confirm this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be confirmed: ${CONFIRMABLE.join(', ')}.`,
      intent,
    );
  }
}

/**
 * Confirms `intent` with its test card (see test-cards.ts) and emits the events Stripe would. A
 * decline throws the 402 card error, after the PaymentIntent and its failed Charge are updated.
 */
export function confirmPaymentIntent(
  context: Context,
  intent: PaymentIntent,
  options: ConfirmOptions,
  eventOrigin: EventOrigin,
): PaymentIntent {
  checkConfirmable(intent, options);
  const paymentMethod =
    options.paymentMethod ??
    (typeof intent.payment_method === 'string' ? intent.payment_method : '');
  const card = testCard(paymentMethod);
  if (!card) throw missingPaymentMethod(intent);

  switch (card.behaviour) {
    case 'decline':
      return decline(context, intent, paymentMethod, card, card.decline!, eventOrigin);
    case 'authenticate':
      if (options.cannotAuthenticate) {
        return decline(context, intent, paymentMethod, card, AUTHENTICATION_REQUIRED, eventOrigin);
      }
      Object.assign(intent, {
        status: 'requires_action',
        payment_method: paymentMethod,
        last_payment_error: null,
        next_action: nextAction(options.returnUrl),
      } satisfies Partial<PaymentIntent>);
      context.events.emit('payment_intent.requires_action', intent, eventOrigin);
      return intent;
    case 'processing': {
      const charge = context.store.charges.insert(
        createCharge(intent, paymentMethod, card, { status: 'pending' }),
      );
      Object.assign(intent, {
        status: 'processing',
        payment_method: paymentMethod,
        latest_charge: charge.id,
        last_payment_error: null,
        next_action: null,
        processing: { type: 'card' },
      } satisfies Partial<PaymentIntent>);
      context.events.emit('charge.pending', charge, eventOrigin);
      context.events.emit('payment_intent.processing', intent, eventOrigin);
      return intent;
    }
    case 'succeed':
    case 'dispute':
    case 'refund_fail':
      return succeed(context, intent, paymentMethod, card, eventOrigin, false);
  }
}

export function missingPaymentMethod(intent: PaymentIntent): StripeApiError {
  return unexpectedState(
    "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method or ConfirmationToken.",
    intent,
  );
}

function succeed(
  context: Context,
  intent: PaymentIntent,
  paymentMethod: string,
  card: TestCard,
  eventOrigin: EventOrigin,
  authenticated: boolean,
): PaymentIntent {
  const capture = intent.capture_method !== 'manual';
  const charge = context.store.charges.insert(
    createCharge(intent, paymentMethod, card, { status: 'succeeded', capture, authenticated }),
  );
  Object.assign(intent, {
    status: capture ? 'succeeded' : 'requires_capture',
    amount_received: capture ? intent.amount : 0,
    amount_capturable: capture ? 0 : intent.amount,
    payment_method: paymentMethod,
    latest_charge: charge.id,
    last_payment_error: null,
    next_action: null,
    processing: null,
  } satisfies Partial<PaymentIntent>);
  context.events.emit('charge.succeeded', charge, eventOrigin);
  if (capture) {
    context.events.emit('payment_intent.succeeded', intent, eventOrigin);
    afterCapture(context, card, charge.id);
  } else {
    context.events.emit('payment_intent.amount_capturable_updated', intent, eventOrigin);
  }
  return intent;
}

function afterCapture(context: Context, card: TestCard, chargeId: string): void {
  if (card.behaviour === 'dispute') context.followUps.after(() => openDispute(context, chargeId));
}

function decline(
  context: Context,
  intent: PaymentIntent,
  paymentMethod: string,
  card: TestCard,
  decline: Decline,
  eventOrigin: EventOrigin,
): never {
  const charge = context.store.charges.insert(
    createCharge(intent, paymentMethod, card, { status: 'failed', decline }),
  );
  const method = paymentMethodObject(paymentMethod, card, charge.created);
  const error = {
    charge: charge.id,
    code: decline.code,
    decline_code: decline.declineCode,
    message: decline.message,
  };
  Object.assign(intent, {
    status: 'requires_payment_method',
    payment_method: null,
    latest_charge: charge.id,
    last_payment_error: {
      ...error,
      doc_url: docUrl(decline.code),
      payment_method: method,
      type: 'card_error',
    },
    next_action: null,
    processing: null,
  } satisfies Partial<PaymentIntent>);
  context.events.emit('charge.failed', charge, eventOrigin);
  context.events.emit('payment_intent.payment_failed', intent, eventOrigin);
  throw new StripeApiError(402, {
    type: 'card_error',
    ...error,
    payment_intent: structuredClone(intent),
    payment_method: method,
  });
}

/** 3D Secure as Stripe asks for it: a redirect when there is a return_url, else Stripe.js. */
function nextAction(returnUrl: string | undefined): Stripe.PaymentIntent.NextAction {
  const source = objectId('src');
  const url = `https://hooks.stripe.com/redirect/authenticate/${source}?client_secret=${source}_secret_${randomAlphanumeric(25)}&source_redirect_slug=test_${randomAlphanumeric(44)}`;
  if (returnUrl !== undefined) {
    return { type: 'redirect_to_url', redirect_to_url: { return_url: returnUrl, url } };
  }
  return {
    type: 'use_stripe_sdk',
    use_stripe_sdk: { source, stripe_js: url, type: 'three_d_secure_redirect' },
  };
}

export function cancelPaymentIntent(
  context: Context,
  intent: PaymentIntent,
  reason: Stripe.PaymentIntent.CancellationReason | null,
  eventOrigin: EventOrigin,
): PaymentIntent {
  if (!CANCELABLE.includes(intent.status)) {
    const allowed = [...CANCELABLE, 'processing'].join(', ');
    throw unexpectedState(
      intent.status === 'processing'
        ? 'You cannot cancel this PaymentIntent because it has a status of processing. A card payment that is processing cannot be canceled; wait until it succeeds or fails.'
        : `You cannot cancel this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${allowed}.`,
      intent,
    );
  }
  if (intent.status === 'requires_capture') releaseAuthorization(context, intent, eventOrigin);
  Object.assign(intent, {
    status: 'canceled',
    canceled_at: Math.floor(Date.now() / 1000),
    cancellation_reason: reason,
    amount_capturable: 0,
    next_action: null,
  } satisfies Partial<PaymentIntent>);
  context.events.emit('payment_intent.canceled', intent, eventOrigin);
  return intent;
}

/** Canceling an uncaptured payment releases the hold: Stripe shows its charge as refunded. */
function releaseAuthorization(
  { store, events }: Context,
  intent: PaymentIntent,
  eventOrigin: EventOrigin,
): void {
  const charge =
    typeof intent.latest_charge === 'string' && store.charges.get(intent.latest_charge);
  if (!charge) return;
  const before = structuredClone(charge);
  Object.assign(charge, { amount_refunded: charge.amount, refunded: true });
  events.emit('charge.refunded', charge, eventOrigin, previousAttributes(before, charge));
}

function capturePaymentIntent(
  context: Context,
  intent: PaymentIntent,
  amountToCapture: number | undefined,
  metadata: Record<string, string>,
  eventOrigin: EventOrigin,
): PaymentIntent {
  if (intent.status !== 'requires_capture') {
    throw unexpectedState(
      `This PaymentIntent could not be captured because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`,
      intent,
    );
  }
  const amount = amountToCapture ?? intent.amount_capturable;
  if (amount < 0 || amount > intent.amount_capturable) {
    throw invalidRequest(
      `The amount to capture (${amount}) must be between 0 and the amount capturable (${intent.amount_capturable}).`,
      { code: 'amount_too_large', param: 'amount_to_capture' },
    );
  }
  const charge = context.store.charges.get(intent.latest_charge as string)!;
  Object.assign(charge, {
    captured: true,
    amount_captured: amount,
    // The part not captured is released, which Stripe reports as refunded.
    amount_refunded: charge.amount - amount,
    refunded: amount === 0,
    balance_transaction: objectId('txn'),
  } satisfies Partial<Stripe.Charge>);
  Object.assign(intent, {
    status: 'succeeded',
    amount_received: amount,
    amount_capturable: 0,
    metadata: { ...intent.metadata, ...metadata },
  } satisfies Partial<PaymentIntent>);
  context.events.emit('charge.captured', charge, eventOrigin);
  context.events.emit('payment_intent.succeeded', intent, eventOrigin);
  afterCapture(
    context,
    testCard(charge.payment_method ?? '') ?? TEST_CARDS['pm_card_visa'],
    charge.id,
  );
  return intent;
}

export type SettleOutcome = 'succeeded' | 'failed';

/**
 * Ends what only the outside world could end: a `processing` payment (the bank answers) or a
 * `requires_action` one (the customer completes or fails 3D Secure). Events have no request.
 */
export function settlePaymentIntent(
  context: Context,
  intentId: string,
  outcome: SettleOutcome,
): PaymentIntent {
  const intent = context.store.paymentIntents.get(intentId);
  if (!intent) throw new Error(`settle: no PaymentIntent ${intentId}`);
  if (outcome !== 'succeeded' && outcome !== 'failed') {
    throw new Error(`settle: outcome must be 'succeeded' or 'failed', got '${String(outcome)}'`);
  }
  const paymentMethod = typeof intent.payment_method === 'string' ? intent.payment_method : '';
  const card = testCard(paymentMethod);
  if (!card || (intent.status !== 'processing' && intent.status !== 'requires_action')) {
    throw new Error(
      `settle: PaymentIntent ${intentId} is ${intent.status}; only processing and requires_action PaymentIntents can be settled`,
    );
  }
  const { store, events } = context;

  if (intent.status === 'requires_action') {
    if (outcome === 'succeeded')
      return succeed(context, intent, paymentMethod, card, AUTOMATIC, true);
    Object.assign(intent, {
      status: 'requires_payment_method',
      payment_method: null,
      next_action: null,
      last_payment_error: {
        code: 'payment_intent_authentication_failure',
        doc_url: docUrl('payment_intent_authentication_failure'),
        message: AUTHENTICATION_FAILURE_MESSAGE,
        payment_method: paymentMethodObject(paymentMethod, card, intent.created),
        type: 'invalid_request_error',
      },
    } satisfies Partial<PaymentIntent>);
    events.emit('payment_intent.payment_failed', intent, AUTOMATIC);
    return intent;
  }

  const charge = store.charges.get(intent.latest_charge as string)!;
  if (outcome === 'succeeded') {
    Object.assign(charge, chargeState(charge.amount, card, { status: 'succeeded', capture: true }));
    Object.assign(intent, {
      status: 'succeeded',
      amount_received: intent.amount,
      processing: null,
    } satisfies Partial<PaymentIntent>);
    events.emit('charge.succeeded', charge, AUTOMATIC);
    events.emit('payment_intent.succeeded', intent, AUTOMATIC);
    return intent;
  }
  const decline = TEST_CARDS['pm_card_visa_chargeDeclined'].decline!;
  Object.assign(charge, chargeState(charge.amount, card, { status: 'failed', decline }));
  Object.assign(intent, {
    status: 'requires_payment_method',
    payment_method: null,
    processing: null,
    last_payment_error: {
      charge: charge.id,
      code: decline.code,
      decline_code: decline.declineCode,
      doc_url: docUrl(decline.code),
      message: decline.message,
      payment_method: paymentMethodObject(paymentMethod, card, charge.created),
      type: 'card_error',
    },
  } satisfies Partial<PaymentIntent>);
  events.emit('charge.failed', charge, AUTOMATIC);
  events.emit('payment_intent.payment_failed', intent, AUTOMATIC);
  return intent;
}
