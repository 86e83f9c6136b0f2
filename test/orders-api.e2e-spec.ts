import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { READINESS_REUSE_MS } from '#common/runtime/health.js';
import { cart, eventually, expectProblem, type OrderBody } from './support/http.js';
import { Stack, tokenFor } from './support/stack.js';

describe('orders REST API (end to end)', () => {
  let stack: Stack;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    stack = await Stack.start();
    [alice, bob] = await Promise.all([tokenFor('cus_alice'), tokenFor('cus_bob')]);
  });

  afterAll(() => stack.stop());

  function request(
    path: string,
    init: {
      method?: string;
      token?: string;
      body?: unknown;
      rawBody?: string;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (init.method === 'POST') headers['idempotency-key'] ??= randomUUID();
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    let body: string | undefined = init.rawBody;
    if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers['content-type'] ??= 'application/json';
    }
    return fetch(`${stack.ordersUrl}${path}`, { method: init.method ?? 'GET', headers, body });
  }

  async function createOrder(token: string, body: unknown = cart): Promise<OrderBody> {
    const response = await request('/api/v1/orders', { method: 'POST', token, body });
    expect(response.status).toBe(201);
    return (await response.json()) as OrderBody;
  }

  describe('POST /api/v1/orders', () => {
    it('creates the order and its PaymentIntent, and returns the client secret', async () => {
      const response = await request('/api/v1/orders', {
        method: 'POST',
        token: alice,
        body: cart,
      });
      expect(response.status).toBe(201);
      const order = (await response.json()) as OrderBody;
      expect(response.headers.get('location')).toBe(`/api/v1/orders/${order.id}`);
      expect(order).toMatchObject({
        status: 'awaiting_payment',
        currency: 'usd',
        amount: 2 * 1500 + 899,
        items: cart.items,
        payment: { status: 'requires_payment_method' },
      });
      expect(order.payment?.clientSecret).toMatch(/^pi_[A-Za-z0-9]+_secret_[A-Za-z0-9]+$/);

      const intents = stack.stripe
        .paymentIntents()
        .filter((pi) => pi.metadata.order_id === order.id);
      expect(intents).toHaveLength(1);
      expect(intents[0]).toMatchObject({
        amount: 3899,
        currency: 'usd',
        client_secret: order.payment?.clientSecret,
        metadata: { order_id: order.id, payment_id: order.payment?.id, customer_id: 'cus_alice' },
      });
    });

    it('stores integer amounts in both databases', async () => {
      const order = await createOrder(alice);
      const orders = new pg.Client({ connectionString: stack.ordersDb.url });
      const payments = new pg.Client({ connectionString: stack.paymentsDb.url });
      await Promise.all([orders.connect(), payments.connect()]);
      try {
        const { rows: orderRows } = await orders.query<{
          amount: string;
          currency: string;
          status: string;
        }>('SELECT amount::text, currency, status FROM orders WHERE id = $1', [order.id]);
        expect(orderRows).toEqual([
          { amount: '3899', currency: 'usd', status: 'awaiting_payment' },
        ]);
        const { rows: itemRows } = await orders.query(
          'SELECT position, sku, quantity, unit_amount::text AS unit_amount FROM order_items WHERE order_id = $1 ORDER BY position',
          [order.id],
        );
        expect(itemRows).toEqual([
          { position: 0, sku: 'TSHIRT-M', quantity: 2, unit_amount: '1500' },
          { position: 1, sku: 'MUG', quantity: 1, unit_amount: '899' },
        ]);
        const { rows: paymentRows } = await payments.query(
          'SELECT id, amount::text AS amount, currency, status, provider_payment_id FROM payments WHERE order_id = $1',
          [order.id],
        );
        expect(paymentRows).toEqual([
          {
            id: order.payment?.id,
            amount: '3899',
            currency: 'usd',
            status: 'requires_payment_method',
            provider_payment_id: expect.stringMatching(/^pi_/),
          },
        ]);
      } finally {
        await Promise.all([orders.end(), payments.end()]);
      }
    });

    it('ignores nothing the client sends: a total in the body is refused', async () => {
      const response = await request('/api/v1/orders', {
        method: 'POST',
        token: alice,
        body: { ...cart, amount: 1 },
      });
      const problem = await expectProblem(response, 422, '/problems/validation-failed');
      expect(problem.errors).toEqual([{ field: 'amount', message: 'is not an accepted field' }]);
    });

    it.each([
      ['no items', { currency: 'usd', items: [] }, 'items'],
      [
        '101 items',
        { currency: 'usd', items: Array.from({ length: 101 }, () => cart.items[0]) },
        'items',
      ],
      [
        'quantity 0',
        { currency: 'usd', items: [{ ...cart.items[0], quantity: 0 }] },
        'items[0].quantity',
      ],
      [
        'quantity 1001',
        { currency: 'usd', items: [{ ...cart.items[0], quantity: 1001 }] },
        'items[0].quantity',
      ],
      [
        'fractional quantity',
        { currency: 'usd', items: [{ ...cart.items[0], quantity: 1.5 }] },
        'items[0].quantity',
      ],
      [
        'unit amount 0',
        { currency: 'usd', items: [{ ...cart.items[0], unitAmount: 0 }] },
        'items[0].unitAmount',
      ],
      [
        'unit amount above 10^9',
        { currency: 'usd', items: [{ ...cart.items[0], unitAmount: 1_000_000_001 }] },
        'items[0].unitAmount',
      ],
      [
        'fractional unit amount',
        { currency: 'usd', items: [{ ...cart.items[0], unitAmount: 10.5 }] },
        'items[0].unitAmount',
      ],
      [
        'unit amount as a string',
        { currency: 'usd', items: [{ ...cart.items[0], unitAmount: '1500' }] },
        'items[0].unitAmount',
      ],
      [
        'total above Stripe maximum',
        { currency: 'usd', items: [{ ...cart.items[0], quantity: 1000, unitAmount: 1_000_000 }] },
        'items',
      ],
      [
        'total below Stripe minimum',
        { currency: 'usd', items: [{ ...cart.items[0], quantity: 1, unitAmount: 49 }] },
        'items',
      ],
      ['unknown currency', { ...cart, currency: 'xyz' }, 'currency'],
      ['missing currency', { items: cart.items }, 'currency'],
      [
        'control characters in a name',
        { currency: 'usd', items: [{ ...cart.items[0], name: 'a\u0007b' }] },
        'items[0].name',
      ],
      ['an array body', [cart], '(body)'],
    ])('answers 422 for %s and stores nothing', async (_name, body, field) => {
      const before = stack.stripe.paymentIntents().length;
      const response = await request('/api/v1/orders', { method: 'POST', token: bob, body });
      const problem = await expectProblem(response, 422, '/problems/validation-failed');
      expect(problem.errors?.map((e) => e.field)).toContain(field);
      expect(stack.stripe.paymentIntents()).toHaveLength(before);
      const list = await request('/api/v1/orders', { token: bob });
      expect(((await list.json()) as { data: unknown[] }).data).toHaveLength(0);
    });

    it('answers 400 for malformed JSON', async () => {
      const response = await request('/api/v1/orders', {
        method: 'POST',
        token: alice,
        rawBody: '{"currency": "usd", "items": [',
        headers: { 'content-type': 'application/json' },
      });
      await expectProblem(response, 400, '/problems/bad-request');
    });

    it('answers 415 for a body that is not JSON', async () => {
      const response = await request('/api/v1/orders', {
        method: 'POST',
        token: alice,
        rawBody: 'currency=usd',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      await expectProblem(response, 415, '/problems/unsupported-media-type');
    });

    it('answers 413 for an oversized body', async () => {
      const response = await request('/api/v1/orders', {
        method: 'POST',
        token: alice,
        body: { currency: 'usd', items: [{ ...cart.items[0], name: 'x'.repeat(100_000) }] },
      });
      await expectProblem(response, 413, '/problems/payload-too-large');
    });
  });

  describe('authentication', () => {
    it.each([
      ['no Authorization header', undefined],
      ['a non-bearer scheme', 'Basic YWxpY2U6c2VjcmV0'],
      ['a malformed token', 'Bearer not-a-jwt'],
    ])('answers 401 for %s', async (_name, authorization) => {
      const response = await request('/api/v1/orders', {
        headers: authorization ? { authorization } : {},
      });
      await expectProblem(response, 401, '/problems/unauthenticated');
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    });

    it('answers 401 for a token signed with another secret', async () => {
      const forged = await tokenFor('cus_alice', { secret: 'x'.repeat(40) });
      await expectProblem(
        await request('/api/v1/orders', { token: forged }),
        401,
        '/problems/unauthenticated',
      );
    });

    it('answers 401 for an expired token', async () => {
      const expired = await tokenFor('cus_alice', {
        expiresIn: Math.floor(Date.now() / 1000) - 120,
      });
      await expectProblem(
        await request('/api/v1/orders', { token: expired }),
        401,
        '/problems/unauthenticated',
      );
    });

    it('answers 401 for an unsigned (alg none) token', async () => {
      const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
      const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: 'cus_alice', exp: Math.floor(Date.now() / 1000) + 300 })}.`;
      const response = await request('/api/v1/orders', {
        headers: { authorization: `Bearer ${unsigned}` },
      });
      await expectProblem(response, 401, '/problems/unauthenticated');
    });
  });

  describe('GET /api/v1/orders/:id', () => {
    it('reads the order back as it was created', async () => {
      const created = await createOrder(alice);
      const response = await request(`/api/v1/orders/${created.id}`, { token: alice });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual(created);
    });

    it("hides another customer's order behind a 404", async () => {
      const created = await createOrder(alice);
      const response = await request(`/api/v1/orders/${created.id}`, { token: bob });
      const problem = await expectProblem(response, 404, '/problems/not-found');
      expect(problem.detail).not.toContain('cus_alice');
    });

    it.each([['00000000-0000-4000-8000-000000000000'], ['not-a-uuid']])(
      'answers 404 for unknown order %s',
      async (id) => {
        await expectProblem(
          await request(`/api/v1/orders/${id}`, { token: alice }),
          404,
          '/problems/not-found',
        );
      },
    );

    it('answers 404 problems for unknown routes', async () => {
      await expectProblem(
        await request('/api/v1/nothing-here', { token: alice }),
        404,
        '/problems/not-found',
      );
    });
  });

  describe('GET /api/v1/orders', () => {
    it('pages through the customer’s orders newest first', async () => {
      const carol = await tokenFor('cus_carol');
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await createOrder(carol)).id);
      ids.reverse();

      const seen: string[] = [];
      let cursor: string | null = null;
      const pageSizes: number[] = [];
      do {
        const query: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2';
        const response = await request(`/api/v1/orders${query}`, { token: carol });
        expect(response.status).toBe(200);
        const page = (await response.json()) as { data: OrderBody[]; nextCursor: string | null };
        pageSizes.push(page.data.length);
        seen.push(...page.data.map((order) => order.id));
        cursor = page.nextCursor;
      } while (cursor);

      expect(pageSizes).toEqual([2, 2, 1]);
      expect(seen).toEqual(ids);
      const others = await request('/api/v1/orders', { token: await tokenFor('cus_dave') });
      expect(await others.json()).toEqual({ data: [], nextCursor: null });
    });

    it('caps the page size at 100', async () => {
      const response = await request('/api/v1/orders?limit=1000', { token: alice });
      expect(response.status).toBe(200);
    });

    it.each([['?limit=0'], ['?limit=abc'], ['?cursor=bm90LWEtY3Vyc29y'], ['?color=red']])(
      'answers 422 for the query %s',
      async (query) => {
        await expectProblem(
          await request(`/api/v1/orders${query}`, { token: alice }),
          422,
          '/problems/validation-failed',
        );
      },
    );
  });

  describe('when payments is down', () => {
    it('answers 503 and a later retry succeeds', async () => {
      await stack.stopPayments();
      try {
        const response = await request('/api/v1/orders', {
          method: 'POST',
          token: alice,
          body: cart,
        });
        const problem = await expectProblem(response, 503, '/problems/unavailable');
        expect(problem.detail).toMatch(/payments/i);
      } finally {
        await stack.startPayments();
      }
      // The channel reconnects on its own; the storefront's retry then goes through.
      const retried = await eventually(() =>
        request('/api/v1/orders', { method: 'POST', token: alice, body: cart }),
      );
      expect(retried.status).toBe(201);
    });

    it('stays ready while payments is down, and reports it', async () => {
      await stack.stopPayments();
      try {
        // Readiness reuses an outcome for READINESS_REUSE_MS: ask once a fresh check is due.
        await new Promise((resolve) => setTimeout(resolve, READINESS_REUSE_MS));
        const response = await fetch(`${stack.ordersUrl}/health/ready`);
        expect(response.status).toBe(200);
        const body = (await response.json()) as { details: Record<string, unknown> };
        expect(body.details.payments).toMatchObject({ status: 'up', reachable: false });
      } finally {
        await stack.startPayments();
      }
      await eventually(async () => {
        const response = await fetch(`${stack.ordersUrl}/health/ready`);
        const body = (await response.clone().json()) as {
          details: { payments: { reachable: boolean } };
        };
        return body.details.payments.reachable ? response : new Response(null, { status: 503 });
      });
    });
  });
});
