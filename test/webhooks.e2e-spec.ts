import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import type { CreatePaymentResponse } from '#contracts/generated/payments/v1/payments.js';
import { expectProblem } from './support/http.js';
import { grpcClient, type RawGrpcClient } from './support/grpc.js';
import { Stack } from './support/stack.js';
import { sendHeaders } from './support/http.js';
import {
  charge,
  deliver,
  dispute,
  event,
  paymentIntent,
  signed,
  signedText,
} from './support/stripe-events.js';

describe('Stripe webhooks on payments (end to end)', () => {
  let stack: Stack;
  let payments: RawGrpcClient;
  let db: pg.Pool;

  beforeAll(async () => {
    stack = await Stack.start();
    payments = grpcClient('payments', stack.paymentsGrpcUrl);
    db = new pg.Pool({ connectionString: stack.paymentsDb.url, max: 3 });
  });

  afterAll(async () => {
    payments.close();
    await db.end();
    await stack.stop();
  });

  /** A payment created through the API, as orders would. */
  async function newPayment() {
    const { payment } = await payments.call<CreatePaymentResponse>(
      'CreatePayment',
      {
        orderId: randomUUID(),
        customerId: 'cus_webhooks',
        amount: { amount: '5000', currency: 'usd' },
      },
      { 'idempotency-key': randomUUID() },
    );
    return payment!;
  }

  async function row(paymentId: string) {
    const { rows } = await db.query<{
      status: string;
      version: string;
      failure_code: string | null;
      receipt_url: string | null;
      disputed: boolean;
    }>('SELECT status, version, failure_code, receipt_url, disputed FROM payments WHERE id = $1', [
      paymentId,
    ]);
    return rows[0];
  }

  const recordedEvent = async (id: string) =>
    (
      await db.query<{ outcome: string; payment_id: string | null }>(
        'SELECT outcome, payment_id FROM stripe_events WHERE id = $1',
        [id],
      )
    ).rows[0];

  const count = async (sql: string, params: unknown[]) =>
    (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0].n;

  function intentEvent(
    type: string,
    intentId: string,
    status: string,
    extra = {},
    created?: number,
  ) {
    return event(
      type,
      paymentIntent({
        id: intentId,
        status: status,
        amount: 5000,
        currency: 'usd',
        ...extra,
      }),
      created ? { created } : {},
    );
  }

  it('applies a signed payment_intent.succeeded', async () => {
    const payment = await newPayment();
    const succeeded = intentEvent(
      'payment_intent.succeeded',
      payment.providerPaymentId,
      'succeeded',
    );
    const response = await deliver(stack.paymentsUrl, signed(succeeded));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: true, outcome: 'processed' });
    expect(await row(payment.id)).toMatchObject({ status: 'succeeded', version: '2' });
    expect(await count('outbox WHERE payment_id = $1', [payment.id])).toBe(1);
    expect(await recordedEvent(succeeded.id)).toEqual({
      outcome: 'processed',
      payment_id: payment.id,
    });
  });

  describe('refuses what does not verify, and records nothing', () => {
    let paymentId: string;
    let good: ReturnType<typeof intentEvent>;

    beforeAll(async () => {
      const payment = await newPayment();
      paymentId = payment.id;
      good = intentEvent('payment_intent.succeeded', payment.providerPaymentId, 'succeeded');
    });

    it.each([
      ['no signature', () => ({ payload: JSON.stringify(good) })],
      ['a wrong secret', () => signed(good, { secret: 'whsec_wrong' })],
      ['a stale timestamp', () => signed(good, { timestamp: Math.floor(Date.now() / 1000) - 301 })],
      [
        'a body other than the signed one',
        () => ({
          ...signed(good),
          payload: JSON.stringify({ ...good, type: 'payment_intent.canceled' }),
        }),
      ],
      ['a malformed header', () => ({ payload: JSON.stringify(good), signature: 'v1=abc' })],
      [
        'a timestamp beyond the tolerance ahead, correctly signed',
        () => signed(good, { timestamp: Math.floor(Date.now() / 1000) + 301 }),
      ],
      [
        'two signatures joined in one header',
        () => ({
          ...signed(good),
          signature: `${signed(good).signature}, ${signed(good).signature}`,
        }),
      ],
    ])('%s -> 400', async (_name, delivery) => {
      const events = await count('stripe_events', []);
      await expectProblem(
        await deliver(stack.paymentsUrl, delivery()),
        400,
        '/problems/bad-request',
      );
      expect(await count('stripe_events', [])).toBe(events);
      expect((await row(paymentId)).status).toBe('requires_payment_method');
    });
  });

  it('refuses a Stripe-Signature header sent twice', async () => {
    const events = await count('stripe_events', []);
    const { payload, signature } = signed(
      intentEvent('payment_intent.succeeded', 'pi_twice', 'succeeded'),
    );
    const response = await sendHeaders(`${stack.paymentsUrl}/webhooks/stripe`, {
      method: 'POST',
      headers: [
        ['content-type', 'application/json'],
        ['stripe-signature', signature],
        ['stripe-signature', signed(event('charge.updated', charge({}))).signature],
      ],
      body: payload,
    });
    const problem = await expectProblem(response, 400, '/problems/bad-request');
    expect(problem.detail).toBe('Stripe-Signature must be sent once.');
    expect(await count('stripe_events', [])).toBe(events);
  });

  it('refuses a body over the webhook limit with 413 before reading it', async () => {
    const good = intentEvent('payment_intent.succeeded', 'pi_large', 'succeeded', {
      metadata: { padding: 'x'.repeat(300 * 1024) },
    });
    await expectProblem(
      await deliver(stack.paymentsUrl, signed(good)),
      413,
      '/problems/payload-too-large',
    );
  });

  describe('answers a signed but malformed event with 400 and records nothing', () => {
    const withoutField = (field: string) => () => {
      const built = event('payment_intent.succeeded', paymentIntent({ id: 'pi_malformed' }));
      delete (built as unknown as Record<string, unknown>)[field];
      return signed(built);
    };
    it.each([
      ['without created', withoutField('created'), 'created'],
      ['without an id', withoutField('id'), 'id'],
      ['without data', withoutField('data'), 'data'],
      [
        'with a created that is not a number',
        () => signed({ ...event('charge.updated', charge({})), created: 'yesterday' } as never),
        'created',
      ],
      [
        'whose data.object is not an object',
        () => signed({ ...event('charge.updated', charge({})), data: { object: 'ch_1' } } as never),
        'data.object',
      ],
    ])('%s', async (_name, delivery, field) => {
      const events = await count('stripe_events', []);
      const problem = await expectProblem(
        await deliver(stack.paymentsUrl, delivery()),
        400,
        '/problems/bad-request',
      );
      expect(problem.detail).toBe(`The Stripe event is malformed: ${field} is invalid.`);
      expect(await count('stripe_events', [])).toBe(events);
    });

    it('that is not JSON', async () => {
      const signature = signed(event('charge.updated', charge({}))).signature;
      const timestamp = /t=(\d+)/.exec(signature)![1];
      const payload = '{"id": "evt_1", "type": ';
      const response = await deliver(stack.paymentsUrl, {
        payload,
        signature: signedText(payload, Number(timestamp)),
      });
      const problem = await expectProblem(response, 400, '/problems/bad-request');
      expect(problem.detail).toBe('The Stripe event is not valid JSON.');
    });
  });

  it('applies an event once, however often and however concurrently it arrives', async () => {
    const payment = await newPayment();
    const delivery = signed(
      intentEvent('payment_intent.succeeded', payment.providerPaymentId, 'succeeded'),
    );
    const concurrent = await Promise.all([1, 2, 3].map(() => deliver(stack.paymentsUrl, delivery)));
    const sequential: Response[] = [];
    for (let i = 0; i < 5; i++) sequential.push(await deliver(stack.paymentsUrl, delivery));
    const outcomes = await Promise.all(
      [...concurrent, ...sequential].map(async (r) => {
        expect(r.status).toBe(200);
        return ((await r.json()) as { outcome: string }).outcome;
      }),
    );
    expect(outcomes.filter((o) => o === 'processed')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(7);
    expect(await row(payment.id)).toMatchObject({ status: 'succeeded', version: '2' });
    expect(await count('outbox WHERE payment_id = $1', [payment.id])).toBe(1);
  });

  it('keeps a success when an older processing event arrives late', async () => {
    const payment = await newPayment();
    const now = Math.floor(Date.now() / 1000);
    const pi = payment.providerPaymentId;
    await deliver(
      stack.paymentsUrl,
      signed(intentEvent('payment_intent.succeeded', pi, 'succeeded', {}, now)),
    );
    await deliver(
      stack.paymentsUrl,
      signed(intentEvent('payment_intent.processing', pi, 'processing', {}, now - 5)),
    );
    expect(await row(payment.id)).toMatchObject({ status: 'succeeded', version: '2' });
  });

  it('lets a failed attempt be followed by a success', async () => {
    const payment = await newPayment();
    const pi = payment.providerPaymentId;
    const declined = {
      last_payment_error: {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'insufficient_funds',
        message: 'Your card has insufficient funds.',
      },
    };
    await deliver(
      stack.paymentsUrl,
      signed(intentEvent('payment_intent.payment_failed', pi, 'requires_payment_method', declined)),
    );
    expect(await row(payment.id)).toMatchObject({
      status: 'requires_payment_method',
      failure_code: 'insufficient_funds',
    });
    await deliver(
      stack.paymentsUrl,
      signed(intentEvent('payment_intent.succeeded', pi, 'succeeded')),
    );
    expect(await row(payment.id)).toMatchObject({
      status: 'succeeded',
      failure_code: null,
      version: '3',
    });
  });

  it('records the receipt of the charge and a dispute', async () => {
    const payment = await newPayment();
    const pi = payment.providerPaymentId;
    const ch = charge({
      id: `ch_${randomUUID().replaceAll('-', '')}`,
      payment_intent: pi,
      receipt_url: 'https://pay.stripe.com/receipts/test',
      amount: 5000,
    });
    await deliver(stack.paymentsUrl, signed(event('charge.succeeded', ch)));
    await deliver(
      stack.paymentsUrl,
      signed(event('charge.dispute.created', dispute({ charge: ch.id, payment_intent: pi }))),
    );
    expect(await row(payment.id)).toMatchObject({
      receipt_url: 'https://pay.stripe.com/receipts/test',
      disputed: true,
    });
  });

  it.each([
    [
      'an unknown PaymentIntent',
      () => intentEvent('payment_intent.succeeded', 'pi_unknown', 'succeeded'),
    ],
    [
      'an event type we do not handle',
      () => event('customer.created', { id: 'cus_1', object: 'customer' }),
    ],
  ])('answers 2xx and ignores %s', async (_name, make) => {
    const ignored = make();
    const response = await deliver(stack.paymentsUrl, signed(ignored));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: true, outcome: 'ignored' });
    expect(await recordedEvent(ignored.id)).toEqual({ outcome: 'ignored', payment_id: null });
  });
});
