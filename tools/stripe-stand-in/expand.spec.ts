import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import Stripe from 'stripe';
import { StripeStandIn } from './server.js';

// `expand[]` through the real SDK, as payments' reconciliation reads a PaymentIntent.
let standIn: StripeStandIn;
let stripe: Stripe;

beforeAll(async () => {
  standIn = await StripeStandIn.start({ port: 0 });
  stripe = new Stripe('sk_test_123', {
    host: '127.0.0.1',
    port: standIn.port,
    protocol: 'http',
    maxNetworkRetries: 0,
  });
});

afterAll(() => standIn.stop());

beforeEach(() => standIn.reset());

async function paidIntent(): Promise<Stripe.PaymentIntent> {
  const intent = await stripe.paymentIntents.create({ amount: 1099, currency: 'usd' });
  return stripe.paymentIntents.confirm(intent.id, { payment_method: 'pm_card_visa' });
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

describe('expand[]', () => {
  it('answers a PaymentIntent with its latest charge as the Charge object', async () => {
    const paid = await paidIntent();
    expect(typeof paid.latest_charge).toBe('string');

    const intent = await stripe.paymentIntents.retrieve(paid.id, { expand: ['latest_charge'] });

    const charge = intent.latest_charge as Stripe.Charge;
    expect(charge).toMatchObject({ object: 'charge', id: paid.latest_charge, paid: true });
    expect(charge.receipt_url).toMatch(/^https:\/\/pay\.stripe\.com\/receipts\//);
    expect(charge.disputed).toBe(false);
  });

  it('leaves the stored object, and reads without expand, as they were', async () => {
    const paid = await paidIntent();
    await stripe.paymentIntents.retrieve(paid.id, { expand: ['latest_charge'] });

    expect((await stripe.paymentIntents.retrieve(paid.id)).latest_charge).toBe(paid.latest_charge);
    expect(standIn.paymentIntents()[0].latest_charge).toBe(paid.latest_charge);
  });

  it('follows a dotted path, and keeps a null field null', async () => {
    const paid = await paidIntent();
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
    const paid = await paidIntent();
    await stripe.refunds.create({ payment_intent: paid.id });
    const refunds = await stripe.refunds.list({ payment_intent: paid.id, expand: ['data.charge'] });
    expect((refunds.data[0].charge as Stripe.Charge).id).toBe(paid.latest_charge);
  });

  it('refuses a field that cannot be expanded, before the request changes anything', async () => {
    const paid = await paidIntent();
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
    const paid = await paidIntent();
    const error = await rejection(
      stripe.paymentIntents.retrieve(paid.id, {
        expand: ['latest_charge.payment_intent.latest_charge.payment_intent.latest_charge'],
      }),
    );
    expect(error.message).toMatch(/more than 4 levels/);
  });
});
