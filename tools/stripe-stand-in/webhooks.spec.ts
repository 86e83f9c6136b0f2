import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from '@jest/globals';
import Stripe from 'stripe';
import { StripeStandIn, type StripeStandInOptions } from './server.js';
import { WEBHOOK_USER_AGENT, signatureHeader } from './webhooks.js';

const SECRET = 'whsec_test_stand_in_secret';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook endpoint: records each request and answers the queued statuses, then 200. */
class Receiver {
  readonly requests: Received[] = [];
  private readonly answers: number[] = [];
  delayMs = 0;

  private constructor(private readonly server: Server) {}

  static async start(): Promise<Receiver> {
    const server = createServer();
    const receiver = new Receiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        receiver.requests.push({
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        const status = receiver.answers.shift() ?? 200;
        setTimeout(() => res.writeHead(status).end(), receiver.delayMs);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhooks/stripe`;
  }

  answer(...statuses: number[]): void {
    this.answers.push(...statuses);
  }

  /** The events received, each verified as the payments service verifies them. */
  events(secret = SECRET): Stripe.Event[] {
    return this.requests.map(({ body, headers }) =>
      verifier.webhooks.constructEvent(body, headers['stripe-signature'] ?? '', secret),
    );
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const verifier = new Stripe('sk_test_verifier');
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A stand-in sending webhooks to a fresh receiver, and an SDK client for it. */
async function setup(options: StripeStandInOptions = {}) {
  const receiver = await Receiver.start();
  cleanups.push(() => receiver.close());
  const standIn = await StripeStandIn.start({
    port: 0,
    webhook: { url: receiver.url, secret: SECRET },
    webhookRetry: { initialDelayMs: 20, maxDelayMs: 80 },
    followUpDelayMs: 10,
    ...options,
  });
  cleanups.push(() => standIn.stop());
  const stripe = new Stripe('sk_test_123', {
    host: '127.0.0.1',
    port: standIn.port,
    protocol: 'http',
    maxNetworkRetries: 0,
  });
  const pay = async (paymentMethod = 'pm_card_visa') => {
    const intent = await stripe.paymentIntents.create({ amount: 2000, currency: 'eur' });
    return stripe.paymentIntents.confirm(intent.id, { payment_method: paymentMethod });
  };
  return { receiver, standIn, stripe, pay };
}

describe('webhook delivery', () => {
  it('POSTs each event, signed so that the SDK verifies it', async () => {
    const { receiver, standIn, pay } = await setup();
    const intent = await pay();
    await standIn.webhooksIdle();

    const events = receiver.events();
    expect(events.map((event) => event.type)).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
    ]);
    expect(events[2]).toMatchObject({
      object: 'event',
      api_version: Stripe.API_VERSION,
      pending_webhooks: 1,
      data: { object: { id: intent.id, status: 'succeeded' } },
    });
    const [{ headers, body }] = receiver.requests;
    expect(headers['content-type']).toBe('application/json; charset=utf-8');
    expect(headers['user-agent']).toBe(WEBHOOK_USER_AGENT);
    expect(headers['stripe-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    // The exact bytes: the event pretty-printed as Stripe sends it.
    expect(body).toBe(JSON.stringify(events[0], null, 2));

    // Delivered: nothing is pending any more.
    expect(standIn.events().map((event) => event.pending_webhooks)).toEqual([0, 0, 0]);
    expect(standIn.deliveries()).toEqual(
      standIn.events().map((event) => ({ eventId: event.id, attempt: 1, status: 200 })),
    );
  });

  it('takes several endpoint URLs in turn, as a load balancer would, a retry landing on the next', async () => {
    const [first, second] = await Promise.all([Receiver.start(), Receiver.start()]);
    cleanups.push(
      () => first.close(),
      () => second.close(),
    );
    const { standIn, pay } = await setup();
    standIn.setWebhook([first.url, second.url], SECRET);
    second.answer(500);
    await pay();
    await standIn.webhooksIdle();

    // created -> first; charge.succeeded -> second (500); payment_intent.succeeded -> first;
    // the retry of charge.succeeded -> second.
    expect(first.events().map((event) => event.type)).toEqual([
      'payment_intent.created',
      'payment_intent.succeeded',
    ]);
    expect(second.events().map((event) => event.type)).toEqual([
      'charge.succeeded',
      'charge.succeeded',
    ]);
    expect(standIn.events().every((event) => event.pending_webhooks === 0)).toBe(true);
  });

  it('fails verification with another secret or altered bytes', async () => {
    const { receiver, standIn, stripe } = await setup();
    await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    await standIn.webhooksIdle();

    expect(() => receiver.events('whsec_wrong')).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
    const [{ headers, body }] = receiver.requests;
    const altered = body.replace('"amount": 100', '"amount": 1');
    expect(() =>
      verifier.webhooks.constructEvent(altered, headers['stripe-signature'] ?? '', SECRET),
    ).toThrow(Stripe.errors.StripeSignatureVerificationError);
  });

  it('signs as the SDK test helper does', () => {
    const payload = JSON.stringify({ id: 'evt_1', object: 'event' }, null, 2);
    expect(signatureHeader(payload, SECRET, 1700000000)).toBe(
      verifier.webhooks.generateTestHeaderString({
        payload,
        secret: SECRET,
        timestamp: 1700000000,
      }),
    );
  });

  it('retries with backoff: an endpoint answering 500 twice gets the event 3 times', async () => {
    const { receiver, standIn, stripe } = await setup();
    receiver.answer(500, 500);
    const intent = await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    await standIn.webhooksIdle();

    const events = receiver.events();
    expect(events).toHaveLength(3);
    expect(new Set(events.map((event) => event.id)).size).toBe(1);
    expect(events[0].data.object).toMatchObject({ id: intent.id });
    const [event] = standIn.events();
    expect(standIn.deliveries()).toEqual([
      { eventId: event.id, attempt: 1, status: 500 },
      { eventId: event.id, attempt: 2, status: 500 },
      { eventId: event.id, attempt: 3, status: 200 },
    ]);
    expect(event.pending_webhooks).toBe(0);
  });

  it('does not hold later events back while one waits for its retry', async () => {
    const { receiver, standIn, pay } = await setup({
      webhookRetry: { initialDelayMs: 100, maxDelayMs: 100 },
    });
    receiver.answer(503);
    await pay();
    await standIn.webhooksIdle();
    expect(receiver.events().map((event) => event.type)).toEqual([
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
      'payment_intent.created',
    ]);
  });

  it('gives up after maxAttempts, and reports connection errors as error', async () => {
    const receiver = await Receiver.start();
    const url = receiver.url;
    await receiver.close(); // nothing listens there any more
    const { standIn, stripe } = await setup({
      webhook: { url, secret: SECRET },
      webhookRetry: { initialDelayMs: 5, maxDelayMs: 10, maxAttempts: 3 },
    });
    await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    await standIn.webhooksIdle();
    const [event] = standIn.events();
    expect(standIn.deliveries()).toEqual(
      [1, 2, 3].map((attempt) => ({
        eventId: event.id,
        attempt,
        status: 'error',
      })),
    );
    expect(event.pending_webhooks).toBe(1);
  });

  it('queues events while paused and sends them on resume', async () => {
    const { receiver, standIn, pay } = await setup();
    standIn.pauseWebhooks();
    await pay();
    await sleep(50);
    expect(receiver.requests).toEqual([]);
    expect(standIn.events()).toHaveLength(3);

    let idle = false;
    const waiting = standIn.webhooksIdle().then(() => (idle = true));
    await sleep(20);
    expect(idle).toBe(false);

    standIn.resumeWebhooks();
    await waiting;
    expect(receiver.events().map((event) => event.id)).toEqual(
      standIn.events().map((event) => event.id),
    );
  });

  it('redelivers an existing event with the same id', async () => {
    const { receiver, standIn, stripe } = await setup();
    await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    await standIn.webhooksIdle();
    const [event] = standIn.events();

    standIn.redeliver(event.id);
    await standIn.webhooksIdle();
    const received = receiver.events();
    expect(received.map((item) => item.id)).toEqual([event.id, event.id]);
    expect(standIn.deliveries().map(({ attempt }) => attempt)).toEqual([1, 2]);
    expect(() => standIn.redeliver('evt_missing')).toThrow(/no event/);
  });

  it('delivers the events of delayed behaviours: disputes and failing refunds', async () => {
    const { receiver, standIn, stripe, pay } = await setup({ followUpDelayMs: 150 });
    const disputed = await pay('pm_card_createDispute');
    const refundFails = await pay('pm_card_refundFail');
    await stripe.refunds.create({ payment_intent: refundFails.id, amount: 500 });
    await standIn.webhooksIdle();

    const events = receiver.events();
    const types = events.map((event) => event.type);
    expect(types).toEqual(standIn.events().map((event) => event.type));
    expect(types.slice(6, 8)).toEqual(['refund.created', 'charge.refunded']);
    expect(types.slice(8).sort()).toEqual([
      'charge.dispute.created',
      'refund.failed',
      'refund.updated',
    ]);
    const dispute = events.find((event) => event.type === 'charge.dispute.created')!;
    expect(dispute.data.object).toMatchObject({
      object: 'dispute',
      charge: disputed.latest_charge,
      status: 'needs_response',
    });
    const refunded = events.find((event) => event.type === 'charge.refunded')!;
    expect(refunded.data.object).toMatchObject({ amount_refunded: 500, refunded: false });
  });

  it('never makes the API wait for the endpoint', async () => {
    const { receiver, standIn, stripe } = await setup();
    receiver.delayMs = 500;
    const started = Date.now();
    await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    expect(Date.now() - started).toBeLessThan(300);
    await standIn.webhooksIdle();
    expect(receiver.requests).toHaveLength(1);
  });

  it('starts sending once an endpoint is set at runtime', async () => {
    const { receiver, standIn, stripe } = await setup({ webhook: undefined });
    await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    await standIn.webhooksIdle();
    expect(standIn.events()[0].pending_webhooks).toBe(0);

    standIn.setWebhook(receiver.url, SECRET);
    const second = await stripe.paymentIntents.create({ amount: 200, currency: 'usd' });
    await standIn.webhooksIdle();
    expect(receiver.events().map((event) => event.data.object)).toEqual([
      expect.objectContaining({ id: second.id }),
    ]);
    expect(() => standIn.setWebhook('not a url', SECRET)).toThrow();
  });

  it("sends only the event types the endpoint enabled, as Stripe's enabled_events", async () => {
    const { receiver, standIn, pay } = await setup({ webhook: undefined });
    standIn.setWebhook(receiver.url, SECRET, ['payment_intent.succeeded', 'charge.refunded']);
    await pay();
    await standIn.webhooksIdle();
    expect(receiver.events().map((event) => event.type)).toEqual(['payment_intent.succeeded']);
    expect(standIn.deliveries()).toHaveLength(1);
    expect(() => standIn.setWebhook(receiver.url, SECRET, [])).toThrow();
  });

  it('forgets events and deliveries on reset, keeping the endpoint', async () => {
    const { receiver, standIn, stripe } = await setup();
    await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    await standIn.webhooksIdle();
    standIn.reset();
    expect(standIn.events()).toEqual([]);
    expect(standIn.deliveries()).toEqual([]);

    await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    await standIn.webhooksIdle();
    expect(receiver.requests).toHaveLength(2);
  });

  it('stops retrying when stopped', async () => {
    const { receiver, standIn, stripe } = await setup({
      webhookRetry: { initialDelayMs: 30, maxDelayMs: 30 },
    });
    receiver.answer(...Array<number>(20).fill(500));
    await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    await sleep(50);
    const idle = standIn.webhooksIdle();
    await standIn.stop();
    await idle; // released by stop()
    const count = receiver.requests.length;
    expect(count).toBeGreaterThanOrEqual(1);
    await sleep(150);
    expect(receiver.requests).toHaveLength(count);
  });

  it('exposes deliveries and webhook controls over HTTP', async () => {
    const { receiver, standIn, stripe } = await setup();
    await fetch(`${standIn.url}/_stand_in/webhooks/pause`, { method: 'POST' });
    await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    await sleep(30);
    expect(receiver.requests).toEqual([]);
    await fetch(`${standIn.url}/_stand_in/webhooks/resume`, { method: 'POST' });
    await standIn.webhooksIdle();
    const [event] = standIn.events();
    await fetch(`${standIn.url}/_stand_in/events/${event.id}/redeliver`, { method: 'POST' });
    await standIn.webhooksIdle();
    const deliveries = await (await fetch(`${standIn.url}/_stand_in/deliveries`)).json();
    expect(deliveries).toEqual([
      { eventId: event.id, attempt: 1, status: 200 },
      { eventId: event.id, attempt: 2, status: 200 },
    ]);
  });
});
