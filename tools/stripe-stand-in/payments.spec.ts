import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import Stripe from 'stripe';
import { StripeStandIn } from './server.js';

// Confirm, cancel, capture, refunds, disputes and the events they emit, through the real SDK.
let standIn: StripeStandIn;
let stripe: Stripe;

beforeAll(async () => {
  standIn = await StripeStandIn.start({ port: 0, followUpDelayMs: 20 });
  stripe = new Stripe('sk_test_123', {
    host: '127.0.0.1',
    port: standIn.port,
    protocol: 'http',
    maxNetworkRetries: 0,
  });
});

afterAll(() => standIn.stop());

beforeEach(() => standIn.reset());

async function rejection(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Stripe.errors.StripeError) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
}

/** Real Stripe objects (test/fixtures/stripe, from stripe-mock). */
function fixture(name: string): Record<string, unknown> {
  const url = new URL(`../../test/fixtures/stripe/${name}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>;
}

/** Paths of the fixture's fields that `actual` lacks, nested objects included. */
function missingFields(actual: unknown, expected: unknown, path = ''): string[] {
  if (!isPlainObject(expected) || !isPlainObject(actual)) return [];
  return Object.entries(expected).flatMap(([key, value]) =>
    key in actual ? missingFields(actual[key], value, `${path}${key}.`) : [`${path}${key}`],
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const order = { amount: 1099, currency: 'usd', metadata: { order_id: 'ord_1' } };

async function confirmed(
  paymentMethod: string,
  params: Partial<Stripe.PaymentIntentCreateParams> = {},
) {
  const intent = await stripe.paymentIntents.create({ ...order, ...params });
  return stripe.paymentIntents.confirm(intent.id, { payment_method: paymentMethod });
}

const eventTypes = () => standIn.events().map((event) => event.type);

describe('POST /v1/payment_intents/:id/confirm', () => {
  it('succeeds with pm_card_visa: a paid Charge, then charge.succeeded and payment_intent.succeeded', async () => {
    const created = await stripe.paymentIntents.create(order);
    const intent = await stripe.paymentIntents.confirm(created.id, {
      payment_method: 'pm_card_visa',
      return_url: 'https://shop.example/return',
    });

    expect(intent).toMatchObject({
      id: created.id,
      status: 'succeeded',
      amount_received: 1099,
      payment_method: 'pm_card_visa',
      last_payment_error: null,
      next_action: null,
    });
    expect(intent.latest_charge).toMatch(/^ch_[A-Za-z0-9]{24}$/);

    const charge = await stripe.charges.retrieve(intent.latest_charge as string);
    expect(charge).toMatchObject({
      object: 'charge',
      amount: 1099,
      amount_captured: 1099,
      amount_refunded: 0,
      currency: 'usd',
      paid: true,
      captured: true,
      status: 'succeeded',
      refunded: false,
      disputed: false,
      payment_intent: intent.id,
      payment_method: 'pm_card_visa',
      metadata: { order_id: 'ord_1' },
      failure_code: null,
      outcome: { type: 'authorized', network_status: 'approved_by_network' },
      payment_method_details: { type: 'card', card: { brand: 'visa', last4: '4242' } },
    });
    expect(charge.receipt_url).toMatch(/^https:\/\/pay\.stripe\.com\/receipts\//);
    expect(charge.balance_transaction).toMatch(/^txn_/);
    expect(missingFields(charge, fixture('charge'))).toEqual([]);
    expect(standIn.charges()).toEqual([expect.objectContaining({ id: charge.id })]);

    const events = standIn.events();
    expect(events.map((event) => event.type)).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
    ]);
    const [createdEvent, chargeEvent, succeededEvent] = events;
    // The SDK sends every POST with an idempotency key of its own.
    expect(createdEvent.request).toEqual({
      id: created.lastResponse.requestId,
      idempotency_key: expect.stringMatching(/^stripe-node-retry-/) as unknown,
    });
    expect(chargeEvent.data.object).toEqual({ ...charge });
    expect(succeededEvent).toMatchObject({
      object: 'event',
      api_version: Stripe.API_VERSION,
      livemode: false,
      pending_webhooks: 0,
      request: { id: intent.lastResponse.requestId },
      data: { object: { id: intent.id, status: 'succeeded' } },
    });
    expect(succeededEvent.id).toMatch(/^evt_[A-Za-z0-9]{24}$/);
    // (The fixture event wraps a plan.)
    const eventShape = { ...fixture('event'), data: { object: fixture('payment_intent') } };
    expect(missingFields(succeededEvent, eventShape)).toEqual([]);
  });

  it('declines pm_card_visa_chargeDeclined with a StripeCardError and a failed Charge', async () => {
    const created = await stripe.paymentIntents.create(order);
    const error = await rejection(
      stripe.paymentIntents.confirm(created.id, { payment_method: 'pm_card_visa_chargeDeclined' }),
    );

    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error).toMatchObject({
      statusCode: 402,
      type: 'StripeCardError',
      code: 'card_declined',
      decline_code: 'generic_decline',
      message: 'Your card was declined.',
      doc_url: 'https://stripe.com/docs/error-codes/card-declined',
    });
    expect(error.payment_intent).toMatchObject({
      id: created.id,
      status: 'requires_payment_method',
      last_payment_error: { code: 'card_declined', decline_code: 'generic_decline' },
    });
    expect(error.payment_method).toMatchObject({
      object: 'payment_method',
      card: { last4: '0002' },
    });
    const failedCharge = (error.raw as { charge: string }).charge;
    expect(failedCharge).toMatch(/^ch_/);

    const intent = await stripe.paymentIntents.retrieve(created.id);
    expect(intent).toMatchObject({
      status: 'requires_payment_method',
      payment_method: null,
      amount_received: 0,
      last_payment_error: {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'generic_decline',
        message: 'Your card was declined.',
        charge: failedCharge,
      },
    });
    const charge = await stripe.charges.retrieve(intent.latest_charge as string);
    expect(charge).toMatchObject({
      id: failedCharge,
      status: 'failed',
      paid: false,
      captured: false,
      amount_captured: 0,
      failure_code: 'card_declined',
      failure_message: 'Your card was declined.',
      outcome: { type: 'issuer_declined', reason: 'generic_decline' },
    });
    expect(eventTypes()).toEqual([
      'payment_intent.created',
      'charge.failed',
      'payment_intent.payment_failed',
    ]);

    // The customer tries another card.
    const retried = await stripe.paymentIntents.confirm(created.id, {
      payment_method: 'pm_card_visa',
    });
    expect(retried.status).toBe('succeeded');
    expect(retried.latest_charge).not.toBe(charge.id);
    expect(retried.last_payment_error).toBeNull();
  });

  it.each([
    ['pm_card_visa_chargeDeclinedInsufficientFunds', 'card_declined', 'insufficient_funds'],
    ['pm_card_chargeDeclinedExpiredCard', 'expired_card', 'expired_card'],
    ['pm_card_chargeDeclinedIncorrectCvc', 'incorrect_cvc', 'incorrect_cvc'],
  ])('declines %s with %s / %s', async (paymentMethod, code, declineCode) => {
    const error = await rejection(confirmed(paymentMethod));
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error).toMatchObject({ code, decline_code: declineCode });
  });

  it('asks for 3D Secure with pm_card_authenticationRequired', async () => {
    const intent = await confirmed('pm_card_authenticationRequired');
    expect(intent).toMatchObject({
      status: 'requires_action',
      payment_method: 'pm_card_authenticationRequired',
      latest_charge: null,
      next_action: { type: 'use_stripe_sdk', use_stripe_sdk: { type: 'three_d_secure_redirect' } },
    });
    expect(eventTypes()).toEqual(['payment_intent.created', 'payment_intent.requires_action']);
    expect(standIn.charges()).toEqual([]);

    const created = await stripe.paymentIntents.create(order);
    const redirected = await stripe.paymentIntents.confirm(created.id, {
      payment_method: 'pm_card_authenticationRequired',
      return_url: 'https://shop.example/return',
    });
    expect(redirected.next_action).toMatchObject({
      type: 'redirect_to_url',
      redirect_to_url: { return_url: 'https://shop.example/return' },
    });
  });

  it('settles 3D Secure: passed succeeds with a Charge, failed asks for another payment method', async () => {
    const passed = await confirmed('pm_card_authenticationRequired');
    expect(standIn.settle(passed.id, 'succeeded')).toMatchObject({ status: 'succeeded' });
    const charge = standIn.charges()[0];
    expect(charge).toMatchObject({
      status: 'succeeded',
      payment_intent: passed.id,
      payment_method_details: { card: { three_d_secure: { result: 'authenticated' } } },
    });

    const failed = await confirmed('pm_card_authenticationRequired');
    standIn.settle(failed.id, 'failed');
    expect(await stripe.paymentIntents.retrieve(failed.id)).toMatchObject({
      status: 'requires_payment_method',
      next_action: null,
      last_payment_error: { code: 'payment_intent_authentication_failure' },
    });
    const settled = standIn.events().filter((event) => event.request?.id === null);
    expect(settled.map((event) => event.type)).toEqual([
      'charge.succeeded',
      'payment_intent.succeeded',
      'payment_intent.payment_failed',
    ]);
  });

  it('declines a card that needs authentication off session', async () => {
    const intent = await stripe.paymentIntents.create(order);
    const error = await rejection(
      stripe.paymentIntents.confirm(intent.id, {
        payment_method: 'pm_card_authenticationRequired',
        off_session: true,
      }),
    );
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error).toMatchObject({
      code: 'authentication_required',
      decline_code: 'authentication_required',
    });
  });

  it('opens a fraudulent dispute shortly after a pm_card_createDispute payment', async () => {
    const intent = await confirmed('pm_card_createDispute');
    expect(intent.status).toBe('succeeded');
    expect(standIn.disputes()).toEqual([]);

    await standIn.webhooksIdle();
    const [dispute] = standIn.disputes();
    expect(dispute).toMatchObject({
      object: 'dispute',
      amount: 1099,
      currency: 'usd',
      charge: intent.latest_charge,
      payment_intent: intent.id,
      reason: 'fraudulent',
      status: 'needs_response',
      is_charge_refundable: false,
    });
    expect(dispute.id).toMatch(/^dp_/);
    expect(missingFields(dispute, fixture('dispute'))).toEqual([]);
    expect(await stripe.disputes.retrieve(dispute.id)).toMatchObject({ id: dispute.id });
    expect(await stripe.charges.retrieve(intent.latest_charge as string)).toMatchObject({
      disputed: true,
    });
    const last = standIn.events().at(-1)!;
    expect(last).toMatchObject({
      type: 'charge.dispute.created',
      request: { id: null, idempotency_key: null },
      data: { object: { id: dispute.id } },
    });

    const error = await rejection(stripe.refunds.create({ payment_intent: intent.id }));
    expect(error).toMatchObject({ statusCode: 400, code: 'charge_disputed' });
  });

  it('keeps pm_stand_in_processing processing until settled', async () => {
    const intent = await confirmed('pm_stand_in_processing');
    expect(intent).toMatchObject({ status: 'processing', processing: { type: 'card' } });
    expect(standIn.charges()[0]).toMatchObject({ status: 'pending', paid: false });
    expect(eventTypes()).toEqual([
      'payment_intent.created',
      'charge.pending',
      'payment_intent.processing',
    ]);

    const settled = standIn.settle(intent.id, 'succeeded');
    expect(settled).toMatchObject({ status: 'succeeded', amount_received: 1099, processing: null });
    expect(await stripe.charges.retrieve(intent.latest_charge as string)).toMatchObject({
      status: 'succeeded',
      paid: true,
      captured: true,
    });
    expect(eventTypes().slice(3)).toEqual(['charge.succeeded', 'payment_intent.succeeded']);
    expect(() => standIn.settle(intent.id, 'failed')).toThrow(/succeeded/);
  });

  it('fails a processing payment when settled as failed', async () => {
    const intent = await confirmed('pm_stand_in_processing');
    standIn.settle(intent.id, 'failed');
    expect(await stripe.paymentIntents.retrieve(intent.id)).toMatchObject({
      status: 'requires_payment_method',
      last_payment_error: { code: 'card_declined' },
    });
    expect(standIn.charges()[0]).toMatchObject({ status: 'failed' });
    expect(eventTypes().slice(3)).toEqual(['charge.failed', 'payment_intent.payment_failed']);
    expect(() => standIn.settle('pi_missing', 'succeeded')).toThrow(/no PaymentIntent/);
  });

  it('refuses to confirm a succeeded or canceled PaymentIntent', async () => {
    const succeeded = await confirmed('pm_card_visa');
    const again = await rejection(
      stripe.paymentIntents.confirm(succeeded.id, { payment_method: 'pm_card_visa' }),
    );
    expect(again).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(again).toMatchObject({
      statusCode: 400,
      code: 'payment_intent_unexpected_state',
      message:
        'You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed.',
    });
    expect(again.payment_intent).toMatchObject({ id: succeeded.id, status: 'succeeded' });

    const intent = await stripe.paymentIntents.create(order);
    await stripe.paymentIntents.cancel(intent.id);
    const canceled = await rejection(stripe.paymentIntents.confirm(intent.id));
    expect(canceled).toMatchObject({
      statusCode: 400,
      code: 'payment_intent_unexpected_state',
      message: expect.stringContaining('because it has a status of canceled') as unknown,
    });
    expect(standIn.charges()).toHaveLength(1);
  });

  it('needs a known payment method', async () => {
    const intent = await stripe.paymentIntents.create(order);
    const missing = await rejection(stripe.paymentIntents.confirm(intent.id));
    expect(missing).toMatchObject({
      statusCode: 400,
      code: 'payment_intent_unexpected_state',
      message: expect.stringContaining("because it's missing a payment method") as unknown,
    });
    const unknown = await rejection(
      stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_nope' }),
    );
    expect(unknown).toMatchObject({
      statusCode: 400,
      code: 'resource_missing',
      param: 'payment_method',
      message: "No such PaymentMethod: 'pm_nope'",
    });
    const nowhere = await rejection(
      stripe.paymentIntents.confirm('pi_missing', { payment_method: 'pm_card_visa' }),
    );
    expect(nowhere).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });

  it('confirms with the payment method given on create, or on create itself', async () => {
    const later = await stripe.paymentIntents.create({ ...order, payment_method: 'pm_card_visa' });
    expect(later.status).toBe('requires_confirmation');
    expect((await stripe.paymentIntents.confirm(later.id)).status).toBe('succeeded');

    standIn.reset();
    const atOnce = await stripe.paymentIntents.create({
      ...order,
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    expect(atOnce).toMatchObject({ status: 'succeeded', amount_received: 1099 });
    expect(eventTypes()).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
    ]);
  });

  it('replays a confirm with the same idempotency key without charging twice', async () => {
    const intent = await stripe.paymentIntents.create(order);
    const params = { payment_method: 'pm_card_visa' };
    const first = await stripe.paymentIntents.confirm(intent.id, params, {
      idempotencyKey: 'confirm-1',
    });
    const again = await stripe.paymentIntents.confirm(intent.id, params, {
      idempotencyKey: 'confirm-1',
    });
    expect(again.latest_charge).toBe(first.latest_charge);
    expect(again.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(standIn.charges()).toHaveLength(1);
    expect(eventTypes()).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
    ]);
    expect(standIn.events()[2].request).toEqual({
      id: first.lastResponse.requestId,
      idempotency_key: 'confirm-1',
    });

    // A decline is a result too: the same key gets the same 402 back.
    const declined = await stripe.paymentIntents.create(order);
    const decline = { payment_method: 'pm_card_visa_chargeDeclined' };
    const a = await rejection(
      stripe.paymentIntents.confirm(declined.id, decline, { idempotencyKey: 'confirm-2' }),
    );
    const b = await rejection(
      stripe.paymentIntents.confirm(declined.id, decline, { idempotencyKey: 'confirm-2' }),
    );
    const body = ({ headers: _, requestId: __, ...raw }: Record<string, unknown>) => raw;
    expect(body(b.raw as Record<string, unknown>)).toEqual(body(a.raw as Record<string, unknown>));
    expect(b.headers?.['idempotent-replayed']).toBe('true');
    expect(standIn.charges()).toHaveLength(2);
  });

  it('authorizes with manual capture, then captures', async () => {
    const intent = await confirmed('pm_card_visa', { capture_method: 'manual' });
    expect(intent).toMatchObject({
      status: 'requires_capture',
      amount_capturable: 1099,
      amount_received: 0,
    });
    expect(standIn.charges()[0]).toMatchObject({
      status: 'succeeded',
      paid: true,
      captured: false,
    });

    const captured = await stripe.paymentIntents.capture(intent.id, { amount_to_capture: 1000 });
    expect(captured).toMatchObject({
      status: 'succeeded',
      amount_received: 1000,
      amount_capturable: 0,
    });
    expect(standIn.charges()[0]).toMatchObject({
      captured: true,
      amount_captured: 1000,
      amount_refunded: 99,
    });
    expect(eventTypes().slice(1)).toEqual([
      'charge.succeeded',
      'payment_intent.amount_capturable_updated',
      'charge.captured',
      'payment_intent.succeeded',
    ]);
  });
});

describe('POST /v1/payment_intents/:id/cancel', () => {
  it('cancels with a reason and emits payment_intent.canceled', async () => {
    const before = Math.floor(Date.now() / 1000);
    const intent = await stripe.paymentIntents.create(order);
    const canceled = await stripe.paymentIntents.cancel(intent.id, {
      cancellation_reason: 'requested_by_customer',
    });
    expect(canceled).toMatchObject({
      status: 'canceled',
      cancellation_reason: 'requested_by_customer',
    });
    expect(canceled.canceled_at).toBeGreaterThanOrEqual(before);
    expect(eventTypes()).toEqual(['payment_intent.created', 'payment_intent.canceled']);
  });

  it('cancels a PaymentIntent waiting for 3D Secure', async () => {
    const intent = await confirmed('pm_card_authenticationRequired');
    const canceled = await stripe.paymentIntents.cancel(intent.id);
    expect(canceled).toMatchObject({
      status: 'canceled',
      next_action: null,
      cancellation_reason: null,
    });
  });

  it.each([
    ['succeeded', 'pm_card_visa'],
    ['processing', 'pm_stand_in_processing'],
  ])('refuses to cancel a %s PaymentIntent', async (status, paymentMethod) => {
    const intent = await confirmed(paymentMethod);
    const error = await rejection(stripe.paymentIntents.cancel(intent.id));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error).toMatchObject({ statusCode: 400, code: 'payment_intent_unexpected_state' });
    expect(error.message).toMatch(
      new RegExp(`^You cannot cancel this PaymentIntent because it has a status of ${status}\\.`),
    );
    expect(error.payment_intent).toMatchObject({ id: intent.id, status });
  });

  it("answers Stripe's message for a canceled PaymentIntent", async () => {
    const intent = await stripe.paymentIntents.create(order);
    await stripe.paymentIntents.cancel(intent.id);
    const error = await rejection(stripe.paymentIntents.cancel(intent.id));
    expect(error.message).toBe(
      'You cannot cancel this PaymentIntent because it has a status of canceled. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.',
    );
  });

  it('releases an uncaptured authorization', async () => {
    const intent = await confirmed('pm_card_visa', { capture_method: 'manual' });
    await stripe.paymentIntents.cancel(intent.id);
    expect(standIn.charges()[0]).toMatchObject({ refunded: true, amount_refunded: 1099 });
    expect(eventTypes().slice(-2)).toEqual(['charge.refunded', 'payment_intent.canceled']);
  });
});

describe('refunds', () => {
  it('refunds a payment in full by PaymentIntent: refund.created, then charge.refunded', async () => {
    const intent = await confirmed('pm_card_visa');
    const refund = await stripe.refunds.create({
      payment_intent: intent.id,
      reason: 'requested_by_customer',
      metadata: { return_id: 'ret_1' },
    });
    expect(refund).toMatchObject({
      object: 'refund',
      amount: 1099,
      currency: 'usd',
      status: 'succeeded',
      charge: intent.latest_charge,
      payment_intent: intent.id,
      reason: 'requested_by_customer',
      metadata: { return_id: 'ret_1' },
    });
    expect(refund.id).toMatch(/^re_[A-Za-z0-9]{24}$/);
    expect(missingFields(refund, fixture('refund'))).toEqual([]);
    expect(await stripe.refunds.retrieve(refund.id)).toEqual({ ...refund });

    const charge = await stripe.charges.retrieve(intent.latest_charge as string);
    expect(charge).toMatchObject({ amount_refunded: 1099, refunded: true });
    expect(charge.refunds?.data.map((item) => item.id)).toEqual([refund.id]);

    const [created, refunded] = standIn.events().slice(3);
    expect(created).toMatchObject({ type: 'refund.created', data: { object: { id: refund.id } } });
    expect(refunded).toMatchObject({
      type: 'charge.refunded',
      data: {
        object: { id: charge.id, amount_refunded: 1099, refunded: true },
        previous_attributes: { amount_refunded: 0, refunded: false },
      },
    });
    expect(standIn.refunds()).toEqual([{ ...refund }]);
  });

  it('refunds in parts, the last part defaulting to what remains', async () => {
    const intent = await confirmed('pm_card_visa');
    const first = await stripe.refunds.create({ payment_intent: intent.id, amount: 300 });
    expect(await stripe.charges.retrieve(intent.latest_charge as string)).toMatchObject({
      amount_refunded: 300,
      refunded: false,
    });
    const second = await stripe.refunds.create({
      charge: intent.latest_charge as string,
      amount: 99,
    });
    const rest = await stripe.refunds.create({ payment_intent: intent.id });
    expect([first.amount, second.amount, rest.amount]).toEqual([300, 99, 700]);
    expect(await stripe.charges.retrieve(intent.latest_charge as string)).toMatchObject({
      amount_refunded: 1099,
      refunded: true,
    });

    const listed = await stripe.refunds.list({ payment_intent: intent.id });
    expect(listed.data.map((refund) => refund.id)).toEqual([rest.id, second.id, first.id]);
    expect((await stripe.refunds.list({ payment_intent: 'pi_other' })).data).toEqual([]);
  });

  it('refuses more than the charge amount, then more than what remains', async () => {
    const intent = await confirmed('pm_card_visa');
    const tooMuch = await rejection(
      stripe.refunds.create({ payment_intent: intent.id, amount: 2000 }),
    );
    expect(tooMuch).toMatchObject({
      statusCode: 400,
      code: 'amount_too_large',
      param: 'amount',
      message: 'Refund amount ($20.00) is greater than charge amount ($10.99)',
    });

    await stripe.refunds.create({ payment_intent: intent.id, amount: 300 });
    const over = await rejection(stripe.refunds.create({ payment_intent: intent.id, amount: 800 }));
    expect(over).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(over).toMatchObject({
      code: 'amount_too_large',
      message: 'Refund amount ($8.00) is greater than unrefunded amount on charge ($7.99)',
    });
    expect(standIn.refunds()).toHaveLength(1);
  });

  it('refuses to refund a fully refunded charge', async () => {
    const intent = await confirmed('pm_card_visa');
    await stripe.refunds.create({ payment_intent: intent.id });
    const error = await rejection(stripe.refunds.create({ payment_intent: intent.id }));
    expect(error).toMatchObject({
      statusCode: 400,
      code: 'charge_already_refunded',
      message: `Charge ${intent.latest_charge as string} has already been refunded.`,
    });
  });

  it('needs a succeeded charge', async () => {
    const intent = await stripe.paymentIntents.create(order);
    const error = await rejection(stripe.refunds.create({ payment_intent: intent.id }));
    expect(error).toMatchObject({
      statusCode: 400,
      message: `This PaymentIntent (${intent.id}) does not have a successful charge to refund.`,
    });
    await rejection(confirmed('pm_card_visa_chargeDeclined'));
    const failedCharge = standIn.charges()[0];
    const failed = await rejection(stripe.refunds.create({ charge: failedCharge.id }));
    expect(failed.message).toMatch(/does not have a successful charge to refund/);

    const missing = await rejection(stripe.refunds.create({ payment_intent: 'pi_missing' }));
    expect(missing).toMatchObject({ statusCode: 400, code: 'resource_missing' });
    const neither = await rejection(stripe.refunds.create({}));
    expect(neither).toMatchObject({ statusCode: 400, code: 'parameter_missing' });
    const badReason = await rejection(
      stripe.refunds.create({ payment_intent: intent.id, reason: 'bored' as 'duplicate' }),
    );
    expect(badReason).toMatchObject({ statusCode: 400, param: 'reason' });
    const unknown = await rejection(stripe.refunds.retrieve('re_missing'));
    expect(unknown).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });

  it('lets refunds of pm_card_refundFail payments succeed, then fail', async () => {
    const intent = await confirmed('pm_card_refundFail');
    const refund = await stripe.refunds.create({ payment_intent: intent.id });
    expect(refund.status).toBe('succeeded');

    await standIn.webhooksIdle();
    const failed = await stripe.refunds.retrieve(refund.id);
    expect(failed).toMatchObject({
      status: 'failed',
      failure_reason: 'expired_or_canceled_card',
    });
    expect(failed.failure_balance_transaction).toMatch(/^txn_/);
    expect(await stripe.charges.retrieve(intent.latest_charge as string)).toMatchObject({
      amount_refunded: 0,
      refunded: false,
    });
    const [updated, failedEvent] = standIn.events().slice(-2);
    expect(updated).toMatchObject({
      type: 'refund.updated',
      data: { object: { status: 'failed' }, previous_attributes: { status: 'succeeded' } },
    });
    expect(failedEvent).toMatchObject({
      type: 'refund.failed',
      request: { id: null, idempotency_key: null },
      data: { object: { id: refund.id, failure_reason: 'expired_or_canceled_card' } },
    });

    // The money is back on the charge, so it can be refunded again.
    const again = await stripe.refunds.create({ payment_intent: intent.id });
    expect(again.amount).toBe(1099);
  });

  it('creates one refund per idempotency key', async () => {
    const intent = await confirmed('pm_card_visa');
    const params = { payment_intent: intent.id, amount: 500 };
    const first = await stripe.refunds.create(params, { idempotencyKey: 'refund-1' });
    const again = await stripe.refunds.create(params, { idempotencyKey: 'refund-1' });
    expect(again.id).toBe(first.id);
    expect(standIn.refunds()).toHaveLength(1);
    expect(standIn.events().filter((event) => event.type === 'refund.created')).toHaveLength(1);
    expect(await stripe.charges.retrieve(intent.latest_charge as string)).toMatchObject({
      amount_refunded: 500,
    });
  });
});

describe('GET /v1/charges and /v1/events', () => {
  it('lists charges of a PaymentIntent and events newest first, by type', async () => {
    const intent = await confirmed('pm_card_visa');
    await rejection(confirmed('pm_card_visa_chargeDeclined'));
    const charges = await stripe.charges.list({ payment_intent: intent.id });
    expect(charges.data.map((charge) => charge.id)).toEqual([intent.latest_charge]);
    expect((await stripe.charges.list()).data).toHaveLength(2);

    const all = await stripe.events.list({ limit: 100 });
    expect(all.data.map((event) => event.id)).toEqual(
      standIn
        .events()
        .map((event) => event.id)
        .reverse(),
    );
    const charged = await stripe.events.list({ type: 'charge.*' });
    expect(charged.data.map((event) => event.type)).toEqual(['charge.failed', 'charge.succeeded']);
    const succeeded = await stripe.events.list({ type: 'payment_intent.succeeded' });
    expect(succeeded.data).toHaveLength(1);
    const event = await stripe.events.retrieve(succeeded.data[0].id);
    expect(event).toMatchObject({
      type: 'payment_intent.succeeded',
      data: { object: { id: intent.id } },
    });
    const missing = await rejection(stripe.events.retrieve('evt_missing'));
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });
});

describe('test hooks over HTTP', () => {
  it('settles and lists through /_stand_in', async () => {
    const intent = await confirmed('pm_stand_in_processing');
    const settled = await fetch(`${standIn.url}/_stand_in/payment_intents/${intent.id}/settle`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'outcome=succeeded',
    });
    expect(settled.status).toBe(200);
    expect(await settled.json()).toMatchObject({ id: intent.id, status: 'succeeded' });

    const wrong = await fetch(`${standIn.url}/_stand_in/payment_intents/${intent.id}/settle`, {
      method: 'POST',
      body: new URLSearchParams({ outcome: 'failed' }),
    });
    expect(wrong.status).toBe(400);

    const events = (await (
      await fetch(`${standIn.url}/_stand_in/events`)
    ).json()) as Stripe.Event[];
    expect(events.map((event) => event.type)).toEqual(eventTypes());
    const charges = (await (await fetch(`${standIn.url}/_stand_in/charges`)).json()) as unknown[];
    expect(charges).toHaveLength(1);
    expect(standIn.requestCount()).toBe(2);
  });
});

// `expand[]` as payments' reconciliation reads a PaymentIntent (its charge's receipt and dispute).
describe('expand[]', () => {
  it('answers a PaymentIntent with its latest charge as the Charge object', async () => {
    const paid = await confirmed('pm_card_visa');
    expect(typeof paid.latest_charge).toBe('string');

    const intent = await stripe.paymentIntents.retrieve(paid.id, { expand: ['latest_charge'] });

    const charge = intent.latest_charge as Stripe.Charge;
    expect(charge).toMatchObject({ object: 'charge', id: paid.latest_charge, paid: true });
    expect(charge.receipt_url).toMatch(/^https:\/\/pay\.stripe\.com\/receipts\//);
    expect(charge.disputed).toBe(false);
  });

  it('leaves the stored object, and reads without expand, as they were', async () => {
    const paid = await confirmed('pm_card_visa');
    await stripe.paymentIntents.retrieve(paid.id, { expand: ['latest_charge'] });

    expect((await stripe.paymentIntents.retrieve(paid.id)).latest_charge).toBe(paid.latest_charge);
    expect(standIn.paymentIntents()[0].latest_charge).toBe(paid.latest_charge);
  });

  it('follows a dotted path, and keeps a null field null', async () => {
    const paid = await confirmed('pm_card_visa');
    const intent = await stripe.paymentIntents.retrieve(paid.id, {
      expand: ['latest_charge.payment_intent'],
    });
    const charge = intent.latest_charge as Stripe.Charge;
    expect((charge.payment_intent as Stripe.PaymentIntent).id).toBe(paid.id);

    const unconfirmed = await stripe.paymentIntents.create({ amount: 500, currency: 'usd' });
    const read = await stripe.paymentIntents.retrieve(unconfirmed.id, {
      expand: ['latest_charge'],
    });
    expect(read.latest_charge).toBeNull();
  });

  it('expands inside lists through data.', async () => {
    const paid = await confirmed('pm_card_visa');
    await stripe.refunds.create({ payment_intent: paid.id });
    const refunds = await stripe.refunds.list({ payment_intent: paid.id, expand: ['data.charge'] });
    expect((refunds.data[0].charge as Stripe.Charge).id).toBe(paid.latest_charge);
  });

  it('refuses a field that cannot be expanded, before the request changes anything', async () => {
    const paid = await confirmed('pm_card_visa');
    const error = await rejection(
      stripe.paymentIntents.retrieve(paid.id, { expand: ['metadata'] }),
    );
    expect(error).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError' });
    expect(error.message).toBe('This property cannot be expanded (metadata).');

    const intents = standIn.paymentIntents().length;
    const create = rejection(
      stripe.paymentIntents.create({ amount: 500, currency: 'usd', expand: ['customer'] }),
    );
    expect((await create).statusCode).toBe(400);
    expect(standIn.paymentIntents()).toHaveLength(intents);
  });

  it('refuses a path more than four levels deep', async () => {
    const paid = await confirmed('pm_card_visa');
    const error = await rejection(
      stripe.paymentIntents.retrieve(paid.id, {
        expand: ['latest_charge.payment_intent.latest_charge.payment_intent.latest_charge'],
      }),
    );
    expect(error.message).toMatch(/more than 4 levels/);
  });
});
