import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import Stripe from 'stripe';
import { StripeStandIn } from './server.js';

// The real SDK over real HTTP: what the payments service will do against this stand-in.
let standIn: StripeStandIn;
let stripe: Stripe;

function client(key = 'sk_test_123', options: Stripe.StripeConfig = {}): Stripe {
  return new Stripe(key, {
    host: '127.0.0.1',
    port: standIn.port,
    protocol: 'http',
    maxNetworkRetries: 0,
    ...options,
  });
}

async function rejection(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Stripe.errors.StripeError) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
}

/** A create request exactly as the SDK encodes it, for checks on the raw HTTP response. */
function rawCreate(body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${standIn.url}/v1/payment_intents`, {
    method: 'POST',
    headers: {
      Authorization: 'Bearer sk_test_123',
      'Content-Type': 'application/x-www-form-urlencoded',
      ...headers,
    },
    body,
  });
}

const order = { amount: 1099, currency: 'usd', metadata: { order_id: 'ord_1' } };

beforeAll(async () => {
  standIn = await StripeStandIn.start({ port: 0 });
  stripe = client();
});

afterAll(() => standIn.stop());

beforeEach(() => standIn.reset());

describe('StripeStandIn', () => {
  it('listens on the requested host and a free port', () => {
    expect(standIn.port).toBeGreaterThan(0);
    expect(standIn.url).toBe(`http://127.0.0.1:${standIn.port}`);
  });

  describe('POST /v1/payment_intents', () => {
    it('creates a PaymentIntent with the full Stripe field set', async () => {
      const before = Math.floor(Date.now() / 1000);
      const intent = await stripe.paymentIntents.create({
        amount: 1099,
        currency: 'usd',
        metadata: { order_id: 'ord_1', note: 'a & b = c, ü' },
        description: 'Order ord_1',
        receipt_email: 'buyer@example.com',
      });

      expect(intent).toMatchObject({
        object: 'payment_intent',
        amount: 1099,
        currency: 'usd',
        status: 'requires_payment_method',
        livemode: false,
        amount_received: 0,
        amount_capturable: 0,
        metadata: { order_id: 'ord_1', note: 'a & b = c, ü' },
        description: 'Order ord_1',
        receipt_email: 'buyer@example.com',
        automatic_payment_methods: { enabled: true },
        payment_method_types: ['card'],
        capture_method: 'automatic',
        latest_charge: null,
        customer: null,
      });
      expect(intent.id).toMatch(/^pi_[A-Za-z0-9]{24}$/);
      expect(intent.client_secret).toMatch(new RegExp(`^${intent.id}_secret_[A-Za-z0-9]+$`));
      expect(intent.created).toBeGreaterThanOrEqual(before);
      expect(intent.created).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
      // Every field of a real PaymentIntent (shared/fixtures/stripe/payment_intent.json).
      expect(Object.keys(intent)).toEqual(expect.arrayContaining(FIXTURE_FIELDS));
      expect(intent.lastResponse.requestId).toMatch(/^req_[A-Za-z0-9]{14}$/);
      expect(standIn.paymentIntents()).toEqual([{ ...intent }]);
    });

    it('honours allowed payment method types, capture method and customer', async () => {
      const intent = await stripe.paymentIntents.create({
        amount: 500,
        currency: 'EUR',
        allowed_payment_method_types: ['card', 'sepa_debit'],
        capture_method: 'manual',
        customer: 'cus_123',
      });
      expect(intent).toMatchObject({
        currency: 'eur',
        allowed_payment_method_types: ['card', 'sepa_debit'],
        payment_method_types: ['card', 'sepa_debit'],
        automatic_payment_methods: { enabled: true },
        capture_method: 'manual',
        customer: 'cus_123',
      });
    });

    it('accepts the legacy payment_method_types, which turns automatic methods off', async () => {
      const params = { ...order, payment_method_types: ['card'] };
      const intent = await stripe.paymentIntents.create(params);
      expect(intent).toMatchObject({
        payment_method_types: ['card'],
        automatic_payment_methods: null,
        payment_method_configuration_details: null,
      });
    });

    it.each([
      ['a missing amount', { currency: 'usd' }, 'amount', 'parameter_missing'],
      [
        'a fractional amount',
        { amount: 10.5, currency: 'usd' },
        'amount',
        'parameter_invalid_integer',
      ],
      ['a zero amount', { amount: 0, currency: 'usd' }, 'amount', 'amount_too_small'],
      [
        'a too large amount',
        { amount: 100_000_000, currency: 'usd' },
        'amount',
        'amount_too_large',
      ],
      ['a missing currency', { amount: 100 }, 'currency', 'parameter_missing'],
      ['an unknown currency', { amount: 100, currency: 'xyz' }, 'currency', undefined],
      ['an unknown parameter', { ...order, metdata: { a: 'b' } }, 'metdata', 'parameter_unknown'],
      [
        'both payment method choices',
        { ...order, payment_method_types: ['card'], automatic_payment_methods: { enabled: true } },
        'payment_method_types',
        'parameters_exclusive',
      ],
    ])('rejects %s', async (_, params, param, code) => {
      const error = await rejection(
        stripe.paymentIntents.create(params as Stripe.PaymentIntentCreateParams),
      );
      expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(error).toMatchObject({
        statusCode: 400,
        type: 'StripeInvalidRequestError',
        param,
        code,
      });
      expect(error.message).not.toBe('');
      expect(standIn.paymentIntents()).toEqual([]);
    });
  });

  describe('GET /v1/payment_intents/:id', () => {
    it('returns the PaymentIntent', async () => {
      const created = await stripe.paymentIntents.create(order);
      const retrieved = await stripe.paymentIntents.retrieve(created.id);
      expect(retrieved).toEqual(created);
    });

    it('answers resource_missing for an unknown id', async () => {
      const error = await rejection(stripe.paymentIntents.retrieve('pi_missing'));
      expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(error).toMatchObject({
        statusCode: 404,
        code: 'resource_missing',
        param: 'intent',
        message: "No such payment_intent: 'pi_missing'",
      });
    });
  });

  describe('GET /v1/payment_intents', () => {
    it('lists newest first and pages with starting_after', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await stripe.paymentIntents.create(order)).id);

      const first = await stripe.paymentIntents.list({ limit: 2 });
      expect(first).toMatchObject({ object: 'list', has_more: true, url: '/v1/payment_intents' });
      expect(first.data.map((intent) => intent.id)).toEqual([ids[2], ids[1]]);

      const rest = await stripe.paymentIntents.list({ limit: 2, starting_after: ids[1] });
      expect(rest.data.map((intent) => intent.id)).toEqual([ids[0]]);
      expect(rest.has_more).toBe(false);

      const all: string[] = [];
      for await (const intent of stripe.paymentIntents.list({ limit: 1 })) all.push(intent.id);
      expect(all).toEqual([...ids].reverse());
    });
  });

  describe('authentication', () => {
    it('rejects a key that is not a test secret key', async () => {
      const error = await rejection(client('sk_live_abcdefgh1234').paymentIntents.create(order));
      expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
      expect(error).toMatchObject({
        statusCode: 401,
        message: 'Invalid API Key provided: sk_live_********1234',
      });
      expect(standIn.paymentIntents()).toEqual([]);
    });

    it('rejects a request without a key', async () => {
      const response = await fetch(`${standIn.url}/v1/payment_intents/pi_1`);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({
        error: { type: 'invalid_request_error', message: expect.stringContaining('API key') },
      });
    });

    it('accepts only the configured key when one is set', async () => {
      const strict = await StripeStandIn.start({ port: 0, apiKey: 'sk_test_expected' });
      try {
        const at = (key: string) =>
          new Stripe(key, { host: '127.0.0.1', port: strict.port, protocol: 'http' });
        const error = await rejection(at('sk_test_other').paymentIntents.create(order));
        expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
        await expect(at('sk_test_expected').paymentIntents.create(order)).resolves.toMatchObject({
          amount: 1099,
        });
      } finally {
        await strict.stop();
      }
    });
  });

  describe('idempotency', () => {
    it('replays the first response for the same key and parameters', async () => {
      const first = await stripe.paymentIntents.create(order, { idempotencyKey: 'order-ord_1' });
      const again = await stripe.paymentIntents.create(order, { idempotencyKey: 'order-ord_1' });

      expect(again.id).toBe(first.id);
      expect(again.client_secret).toBe(first.client_secret);
      expect(standIn.paymentIntents()).toHaveLength(1);

      const body = 'amount=1099&currency=usd&metadata[order_id]=ord_1';
      const raw = await rawCreate(body, { 'Idempotency-Key': 'order-ord_1' });
      expect(raw.status).toBe(200);
      expect(raw.headers.get('Idempotent-Replayed')).toBe('true');
      expect(raw.headers.get('Idempotency-Key')).toBe('order-ord_1');
      expect(raw.headers.get('Original-Request')).toBe(first.lastResponse.requestId);
      expect(((await raw.json()) as { id: string }).id).toBe(first.id);
      expect(standIn.paymentIntents()).toHaveLength(1);
    });

    it('replays byte for byte, and only the replay is marked', async () => {
      const body = 'amount=700&currency=gbp&metadata[b]=2&metadata[a]=1';
      const first = await rawCreate(body, { 'Idempotency-Key': 'raw-1' });
      // Same parameters in another order are the same request.
      const replay = await rawCreate('currency=gbp&metadata[a]=1&metadata[b]=2&amount=700', {
        'Idempotency-Key': 'raw-1',
      });
      expect(first.headers.get('Idempotent-Replayed')).toBeNull();
      expect(replay.headers.get('Idempotent-Replayed')).toBe('true');
      expect(replay.headers.get('Request-Id')).not.toBe(first.headers.get('Request-Id'));
      expect(await replay.text()).toBe(await first.text());
    });

    it('rejects the same key with different parameters', async () => {
      await stripe.paymentIntents.create(order, { idempotencyKey: 'k-1' });
      const error = await rejection(
        stripe.paymentIntents.create({ ...order, amount: 2000 }, { idempotencyKey: 'k-1' }),
      );
      expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
      expect(error).toMatchObject({ statusCode: 400, rawType: 'idempotency_error' });
      expect(error.message).toContain('same parameters');
      expect(standIn.paymentIntents()).toHaveLength(1);
    });

    it('scopes keys to the API key', async () => {
      await stripe.paymentIntents.create(order, { idempotencyKey: 'shared' });
      const other = await client('sk_test_other').paymentIntents.create(
        { ...order, amount: 5 },
        { idempotencyKey: 'shared' },
      );
      expect(other.amount).toBe(5);
      expect(standIn.paymentIntents()).toHaveLength(2);
    });

    it('does not save parameter validation failures', async () => {
      const invalid = await rejection(
        stripe.paymentIntents.create({ currency: 'usd' } as Stripe.PaymentIntentCreateParams, {
          idempotencyKey: 'fix-and-retry',
        }),
      );
      expect(invalid.code).toBe('parameter_missing');
      const fixed = await stripe.paymentIntents.create(order, { idempotencyKey: 'fix-and-retry' });
      expect(fixed.amount).toBe(1099);
    });

    it('answers 409 to a concurrent request with a key still in progress', async () => {
      standIn.delayNext(1, 300);
      const body = 'amount=1099&currency=usd';
      const [a, b] = await Promise.all([
        rawCreate(body, { 'Idempotency-Key': 'busy' }),
        new Promise((resolve) => setTimeout(resolve, 50)).then(() =>
          rawCreate(body, { 'Idempotency-Key': 'busy' }),
        ),
      ]);
      expect(a.status).toBe(200);
      expect(b.status).toBe(409);
      expect(await b.json()).toMatchObject({
        error: { type: 'idempotency_error', code: 'idempotency_key_in_use' },
      });
      expect(standIn.paymentIntents()).toHaveLength(1);
    });

    it('lets an SDK retry after a client timeout find the original PaymentIntent', async () => {
      standIn.delayNext(1, 400);
      const retrying = client('sk_test_123', { timeout: 150, maxNetworkRetries: 2 });
      const intent = await retrying.paymentIntents.create(order, { idempotencyKey: 'slow' });
      expect(standIn.paymentIntents().map((created) => created.id)).toEqual([intent.id]);
      expect(standIn.requestCount()).toBeGreaterThanOrEqual(2);
    });

    it('rejects keys longer than 255 characters', async () => {
      const response = await rawCreate('amount=1&currency=usd', {
        'Idempotency-Key': 'k'.repeat(256),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { type: 'idempotency_error' } });
    });
  });

  describe('failure injection', () => {
    it('fails the next requests with an api_error, then recovers', async () => {
      standIn.failNext(1);
      const error = await rejection(stripe.paymentIntents.create(order, { idempotencyKey: 'out' }));
      expect(error).toBeInstanceOf(Stripe.errors.StripeAPIError);
      expect(error).toMatchObject({ statusCode: 500, message: 'An unknown error occurred' });
      expect(standIn.paymentIntents()).toHaveLength(0);

      // The failure was not saved under the key, so the retry goes through.
      const intent = await stripe.paymentIntents.create(order, { idempotencyKey: 'out' });
      expect(standIn.paymentIntents().map((created) => created.id)).toEqual([intent.id]);
      expect(standIn.requestCount()).toBe(2);
    });

    it('uses the given status, which the SDK retries transparently', async () => {
      standIn.failNext(1, 503);
      const intent = await client('sk_test_123', { maxNetworkRetries: 1 }).paymentIntents.create(
        order,
      );
      expect(intent.amount).toBe(1099);
      expect(standIn.requestCount()).toBe(2);
      expect(standIn.paymentIntents()).toHaveLength(1);
    });
  });

  describe('holding a request', () => {
    it('answers a held request only once the hold is released', async () => {
      const hold = standIn.holdNext();
      let answered = false;
      const creating = stripe.paymentIntents
        .create(order, { idempotencyKey: 'held' })
        .finally(() => (answered = true));
      await hold.reached;
      // Another request goes through meanwhile: only the next one was held.
      await stripe.paymentIntents.create(order, { idempotencyKey: 'not-held' });
      expect(answered).toBe(false);

      hold.release();
      expect((await creating).amount).toBe(1099);
    });

    it('holds nothing once a hold is released before a request arrived', async () => {
      standIn.holdNext().release();
      const intent = await stripe.paymentIntents.create(order, { idempotencyKey: 'free' });
      expect(intent.amount).toBe(1099);
    });
  });

  describe('HTTP details', () => {
    it('echoes Stripe-Version and sets Request-Id and JSON content type', async () => {
      const response = await rawCreate('amount=100&currency=usd', {
        'Stripe-Version': '2024-06-20',
      });
      expect(response.headers.get('Stripe-Version')).toBe('2024-06-20');
      expect(response.headers.get('Request-Id')).toMatch(/^req_/);
      expect(response.headers.get('Content-Type')).toBe('application/json');
    });

    it('answers an unknown route with Unrecognized request URL', async () => {
      const response = await fetch(`${standIn.url}/v1/nope`, {
        headers: { Authorization: 'Bearer sk_test_123' },
      });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({
        error: {
          type: 'invalid_request_error',
          message: expect.stringContaining('Unrecognized request URL (GET: /v1/nope)'),
        },
      });
    });

    it('exposes PaymentIntents over HTTP without counting introspection as API requests', async () => {
      const intent = await stripe.paymentIntents.create(order);
      const response = await fetch(`${standIn.url}/_stand_in/payment_intents`);
      expect(((await response.json()) as { id: string }[]).map((pi) => pi.id)).toEqual([intent.id]);
      expect(standIn.requestCount()).toBe(1);

      await fetch(`${standIn.url}/_stand_in/reset`, { method: 'POST' });
      expect(standIn.paymentIntents()).toEqual([]);
    });
  });
});

const FIXTURE_FIELDS = [
  'amount',
  'amount_capturable',
  'amount_details',
  'amount_received',
  'application',
  'application_fee_amount',
  'automatic_payment_methods',
  'canceled_at',
  'cancellation_reason',
  'capture_method',
  'client_secret',
  'confirmation_method',
  'created',
  'currency',
  'customer',
  'description',
  'excluded_payment_method_types',
  'id',
  'last_payment_error',
  'latest_charge',
  'livemode',
  'metadata',
  'next_action',
  'object',
  'on_behalf_of',
  'payment_method',
  'payment_method_configuration_details',
  'payment_method_options',
  'payment_method_types',
  'processing',
  'receipt_email',
  'review',
  'setup_future_usage',
  'shipping',
  'source',
  'statement_descriptor',
  'statement_descriptor_suffix',
  'status',
  'transfer_data',
  'transfer_group',
];
