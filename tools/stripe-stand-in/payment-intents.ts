import type Stripe from 'stripe';
import { SUPPORTED_CURRENCIES, formatAmount } from './currencies.js';
import type { Context } from './context.js';
import { invalidParam } from './errors.js';
import {
  confirmOptions,
  confirmPaymentIntent,
  findPaymentIntent,
  missingPaymentMethod,
  origin,
  registerIntentLifecycle,
} from './intent-lifecycle.js';
import { objectId, randomAlphanumeric } from './ids.js';
import { LIST_PARAMS, listPage } from './list.js';
import type { ParamReader } from './params.js';
import { ok, type Router } from './router.js';
import type { Store } from './store.js';

type PaymentIntent = Stripe.PaymentIntent;

const MAX_AMOUNT = 99_999_999;

/**
 * Every parameter PaymentIntentCreateParams documents, plus `payment_method_types`, which older
 * API versions use; anything else is rejected as unknown.
 */
const CREATE_PARAMS = [
  'amount',
  'currency',
  'allowed_payment_method_types',
  'amount_details',
  'application_fee_amount',
  'automatic_payment_methods',
  'capture_method',
  'confirm',
  'confirmation_method',
  'confirmation_token',
  'customer',
  'customer_account',
  'description',
  'error_on_requires_action',
  'excluded_payment_method_types',
  'expand',
  'hooks',
  'mandate',
  'mandate_data',
  'metadata',
  'off_session',
  'on_behalf_of',
  'payment_details',
  'payment_method',
  'payment_method_configuration',
  'payment_method_data',
  'payment_method_options',
  'payment_method_types',
  'radar_options',
  'receipt_email',
  'return_url',
  'setup_future_usage',
  'shipping',
  'statement_descriptor',
  'statement_descriptor_suffix',
  'transfer_data',
  'transfer_group',
  'use_stripe_sdk',
];

// Stripe reports the account's default payment method configuration when it picks the methods.
const PAYMENT_METHOD_CONFIGURATION = objectId('pmc');

export function registerPaymentIntents(router: Router, context: Context): void {
  const { store, events } = context;
  router
    .post('/v1/payment_intents', (request) => {
      const { params } = request;
      const intent = createPaymentIntent(params);
      // Confirming on create needs a usable payment method before anything is created.
      const confirm = params.boolean('confirm') ? confirmOptions(params) : undefined;
      if (confirm && !intent.payment_method) throw missingPaymentMethod(intent);
      store.paymentIntents.insert(intent);
      events.emit('payment_intent.created', intent, origin(request));
      if (confirm) confirmPaymentIntent(context, intent, confirm, origin(request));
      return ok(intent);
    })
    .get('/v1/payment_intents', ({ params }) => ok(listPaymentIntents(store, params)))
    .get('/v1/payment_intents/:intent', ({ params, pathParams }) => {
      params.allowOnly(['client_secret', 'expand']);
      return ok(findPaymentIntent(store, pathParams['intent'], 'intent'));
    });
  registerIntentLifecycle(router, context);
}

/** A new PaymentIntent, shaped field for field like the one Stripe returns from create. */
export function createPaymentIntent(params: ParamReader, now = Date.now()): PaymentIntent {
  params.allowOnly(CREATE_PARAMS);
  const amount = params.requiredInteger('amount');
  const currency = params.requiredString('currency').toLowerCase();
  if (!SUPPORTED_CURRENCIES.includes(currency)) {
    throw invalidParam(
      'currency',
      `Invalid currency: ${currency}. Stripe currently supports these currencies: ${SUPPORTED_CURRENCIES.join(', ')}`,
    );
  }
  if (amount < 1) {
    throw invalidParam(
      'amount',
      'This value must be greater than or equal to 1.',
      'amount_too_small',
    );
  }
  if (amount > MAX_AMOUNT) {
    throw invalidParam(
      'amount',
      `Amount must be no more than ${formatAmount(MAX_AMOUNT, currency)}`,
      'amount_too_large',
    );
  }

  const methods = paymentMethods(params);
  const paymentMethod = params.string('payment_method') ?? null;
  const id = objectId('pi');
  return {
    id,
    object: 'payment_intent',
    allowed_payment_method_types: params.stringArray('allowed_payment_method_types') ?? null,
    amount,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: 0,
    application: null,
    application_fee_amount: params.integer('application_fee_amount') ?? null,
    automatic_payment_methods: methods.automatic,
    canceled_at: null,
    cancellation_reason: null,
    capture_method:
      params.enumeration('capture_method', ['automatic', 'automatic_async', 'manual']) ??
      'automatic',
    client_secret: `${id}_secret_${randomAlphanumeric(25)}`,
    confirmation_method:
      params.enumeration('confirmation_method', ['automatic', 'manual']) ?? 'automatic',
    created: Math.floor(now / 1000),
    currency,
    customer: params.string('customer') ?? null,
    customer_account: params.string('customer_account') ?? null,
    description: params.string('description') ?? null,
    excluded_payment_method_types: params.stringArray('excluded_payment_method_types') ?? null,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    managed_payments: null,
    metadata: params.metadata(),
    next_action: null,
    on_behalf_of: params.string('on_behalf_of') ?? null,
    payment_method: paymentMethod,
    payment_method_configuration_details: methods.configuration,
    payment_method_options: paymentMethodOptions(methods.types, params),
    payment_method_types: methods.types,
    payment_record: null,
    processing: null,
    receipt_email: params.string('receipt_email') ?? null,
    review: null,
    setup_future_usage:
      params.enumeration('setup_future_usage', ['off_session', 'on_session']) ?? null,
    shipping: shipping(params.hash('shipping')),
    source: null,
    statement_descriptor: params.string('statement_descriptor') ?? null,
    statement_descriptor_suffix: params.string('statement_descriptor_suffix') ?? null,
    status: paymentMethod ? 'requires_confirmation' : 'requires_payment_method',
    transfer_data: transferData(params.hash('transfer_data')),
    transfer_group: params.string('transfer_group') ?? null,
  };
}

/**
 * Since API version 2023-08-16 Stripe enables automatic payment methods unless explicit
 * `payment_method_types` are given, and the two cannot be combined. Newer versions narrow the
 * automatic choice with `allowed_payment_method_types` instead.
 */
function paymentMethods(params: ParamReader): {
  types: string[];
  automatic: Stripe.PaymentIntent.AutomaticPaymentMethods | null;
  configuration: Stripe.PaymentIntent.PaymentMethodConfigurationDetails | null;
} {
  const explicit = params.stringArray('payment_method_types');
  const allowed = params.stringArray('allowed_payment_method_types');
  const automatic = params
    .hash('automatic_payment_methods')
    ?.allowOnly(['enabled', 'allow_redirects']);
  const enabled = automatic?.requiredBoolean('enabled') ?? explicit === undefined;
  const allowRedirects = automatic?.enumeration('allow_redirects', ['always', 'never']);
  if (enabled && explicit !== undefined) {
    throw invalidParam(
      'payment_method_types',
      'You may only specify one of these parameters: automatic_payment_methods, payment_method_types.',
      'parameters_exclusive',
    );
  }
  const types = explicit ?? allowed ?? ['card'];
  if (!enabled) return { types, automatic: automatic ? { enabled } : null, configuration: null };
  return {
    types,
    automatic: allowRedirects ? { enabled, allow_redirects: allowRedirects } : { enabled },
    configuration: { id: PAYMENT_METHOD_CONFIGURATION, parent: null },
  };
}

function paymentMethodOptions(
  types: string[],
  params: ParamReader,
): Stripe.PaymentIntent.PaymentMethodOptions {
  if (!types.includes('card')) return {};
  const card = params.hash('payment_method_options')?.hash('card');
  return {
    card: {
      installments: null,
      mandate_options: null,
      network: null,
      request_three_d_secure:
        card?.enumeration('request_three_d_secure', ['any', 'automatic', 'challenge']) ??
        'automatic',
    },
  };
}

function shipping(params: ParamReader | undefined): Stripe.PaymentIntent.Shipping | null {
  if (!params) return null;
  params.allowOnly(['address', 'carrier', 'name', 'phone', 'tracking_number']);
  const address = params
    .requiredHash('address')
    .allowOnly(['city', 'country', 'line1', 'line2', 'postal_code', 'state']);
  return {
    address: {
      city: address.string('city') ?? null,
      country: address.string('country') ?? null,
      line1: address.string('line1') ?? null,
      line2: address.string('line2') ?? null,
      postal_code: address.string('postal_code') ?? null,
      state: address.string('state') ?? null,
    },
    carrier: params.string('carrier') ?? null,
    name: params.requiredString('name'),
    phone: params.string('phone') ?? null,
    tracking_number: params.string('tracking_number') ?? null,
  };
}

function transferData(params: ParamReader | undefined): Stripe.PaymentIntent.TransferData | null {
  if (!params) return null;
  params.allowOnly(['amount', 'destination']);
  const amount = params.integer('amount');
  const destination = params.requiredString('destination');
  return amount === undefined ? { destination } : { amount, destination };
}

function listPaymentIntents(store: Store, params: ParamReader) {
  params.allowOnly([...LIST_PARAMS, 'customer', 'customer_account']);
  const customer = params.string('customer');
  const customerAccount = params.string('customer_account');
  const intents = store.paymentIntents
    .all()
    .filter(
      (intent) =>
        (customer === undefined || intent.customer === customer) &&
        (customerAccount === undefined || intent.customer_account === customerAccount),
    );
  return listPage(intents, params, { url: '/v1/payment_intents', objectName: 'payment_intent' });
}
