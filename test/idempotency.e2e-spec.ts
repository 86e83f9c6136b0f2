import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import pg from 'pg';
import { IdempotencyCleanup } from '../apps/orders/src/idempotency/idempotency-cleanup.js';
import { IdempotencyRepository } from '../apps/orders/src/idempotency/idempotency.repository.js';
import { cart, eventually, expectProblem, type OrderBody, postOrder } from './support/http.js';
import { Stack, tokenFor } from './support/stack.js';

describe('Idempotency-Key on POST /api/v1/orders (end to end)', () => {
  let stack: Stack;
  let orders: pg.Pool;
  let payments: pg.Pool;

  beforeAll(async () => {
    // A short breaker delay: the retry loop below may trip the breaker while payments restarts.
    stack = await Stack.start({ orders: { PAYMENTS_BREAKER_HALF_OPEN_AFTER_MS: '300' } });
    orders = new pg.Pool({ connectionString: stack.ordersDb.url, max: 2 });
    payments = new pg.Pool({ connectionString: stack.paymentsDb.url, max: 2 });
  });

  afterAll(async () => {
    await Promise.all([orders.end(), payments.end()]);
    await stack.stop();
  });

  async function orderCount(customerId: string): Promise<number> {
    const { rows } = await orders.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM orders WHERE customer_id = $1',
      [customerId],
    );
    return rows[0].n;
  }

  const intentsFor = (orderId: string) =>
    stack.stripe.paymentIntents().filter((pi) => pi.metadata.order_id === orderId);

  it('requires the header', async () => {
    const token = await tokenFor('cus_nokey');
    const problem = await expectProblem(
      await postOrder(stack.ordersUrl, token, { key: null }),
      400,
      '/problems/bad-request',
    );
    expect(problem.errors).toEqual([{ field: 'Idempotency-Key', message: 'is required' }]);
    expect(await orderCount('cus_nokey')).toBe(0);
  });

  it.each([['x'.repeat(256)], ['with space'], ['ключ'], ['']])(
    'refuses the malformed key %j with 400',
    async (key) => {
      const token = await tokenFor('cus_badkey');
      const response = await fetch(`${stack.ordersUrl}/api/v1/orders`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key':
            encodeURIComponent(key) === key ? key : Buffer.from(key).toString('latin1'),
        },
        body: JSON.stringify(cart),
      });
      await expectProblem(response, 400, '/problems/bad-request');
      expect(await orderCount('cus_badkey')).toBe(0);
    },
  );

  it('turns 50 concurrent identical requests into one order, one payment, one PaymentIntent', async () => {
    const customer = `cus_${randomUUID()}`;
    const token = await tokenFor(customer);
    const key = randomUUID();
    const paymentCalls = stack.countPaymentCalls();
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => postOrder(stack.ordersUrl, token, { key })),
    );
    const bodies = await Promise.all(responses.map((r) => r.text()));
    const statuses = responses.map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    const created = bodies.filter((_, i) => statuses[i] === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created).size).toBe(1);
    for (const [i, response] of responses.entries()) {
      if (response.status !== 409) continue;
      expect(response.headers.get('retry-after')).toBe('1');
      expect(JSON.parse(bodies[i])).toMatchObject({ type: '/problems/idempotency-key-in-use' });
    }

    const order = JSON.parse(created[0]) as OrderBody;
    expect(await orderCount(customer)).toBe(1);
    const { rows } = await payments.query('SELECT id FROM payments WHERE order_id = $1', [
      order.id,
    ]);
    expect(rows).toHaveLength(1);
    expect(intentsFor(order.id)).toHaveLength(1);

    // Once complete, every replay is the first response, byte for byte, and does nothing else.
    const stripeRequests = stack.stripe.requestCount();
    const grpcCalls = paymentCalls();
    expect(grpcCalls).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) {
      const replay = await postOrder(stack.ordersUrl, token, { key });
      expect(replay.status).toBe(201);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.headers.get('location')).toBe(`/api/v1/orders/${order.id}`);
      expect(await replay.text()).toBe(created[0]);
    }
    expect(stack.stripe.requestCount()).toBe(stripeRequests);
    expect(paymentCalls()).toBe(grpcCalls);
    expect(await orderCount(customer)).toBe(1);
  });

  it('refuses the same key with a different request, and does nothing', async () => {
    const customer = `cus_${randomUUID()}`;
    const token = await tokenFor(customer);
    const key = randomUUID();
    expect((await postOrder(stack.ordersUrl, token, { key })).status).toBe(201);
    const intents = stack.stripe.paymentIntents().length;
    const other = { ...cart, items: [{ ...cart.items[0], quantity: 3 }] };
    await expectProblem(
      await postOrder(stack.ordersUrl, token, { key, body: other }),
      422,
      '/problems/idempotency-key-reused',
    );
    expect(stack.stripe.paymentIntents()).toHaveLength(intents);
    expect(await orderCount(customer)).toBe(1);
  });

  it('scopes keys to the customer', async () => {
    const key = randomUUID();
    const [first, second] = await Promise.all([
      postOrder(stack.ordersUrl, await tokenFor('cus_scope_a'), { key }),
      postOrder(stack.ordersUrl, await tokenFor('cus_scope_b'), { key }),
    ]);
    expect([first.status, second.status]).toEqual([201, 201]);
    const [a, b] = (await Promise.all([first.json(), second.json()])) as OrderBody[];
    expect(a.id).not.toBe(b.id);
    expect(second.headers.get('idempotent-replayed')).toBeNull();
  });

  it('does not let an invalid request use up the key', async () => {
    const token = await tokenFor('cus_invalid_first');
    const key = randomUUID();
    const invalid = { ...cart, items: [] };
    await expectProblem(
      await postOrder(stack.ordersUrl, token, { key, body: invalid }),
      422,
      '/problems/validation-failed',
    );
    expect((await postOrder(stack.ordersUrl, token, { key })).status).toBe(201);
  });

  it('fingerprints the route with its decoded parameters: a query string or another encoding of the path is the same request', async () => {
    const token = await tokenFor(`cus_${randomUUID()}`);
    const key = randomUUID();
    const post = (path: string) =>
      fetch(`${stack.ordersUrl}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body: JSON.stringify(cart),
      });
    const created = await post('/api/v1/orders');
    expect(created.status).toBe(201);
    const replay = await post('/api/v1/orders?source=retry');
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.text()).toBe(await created.text());

    // A stored refusal names the decoded path, and answers that path however it is encoded.
    const cancelKey = randomUUID();
    const cancel = (path: string) =>
      fetch(`${stack.ordersUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'idempotency-key': cancelKey },
      });
    const missing = await expectProblem(
      await cancel('/api/v1/orders/no%20such/cancel'),
      404,
      '/problems/not-found',
    );
    expect(missing.instance).toBe('/api/v1/orders/no such/cancel');
    const repeated = await cancel('/api/v1/orders/%6Eo%20such/cancel?again');
    expect(repeated.headers.get('idempotent-replayed')).toBe('true');
    expect(await expectProblem(repeated, 404, '/problems/not-found')).toEqual(missing);
  });

  it('answers repeats of a completed key from memory, without a database round trip', async () => {
    const token = await tokenFor('cus_retry_storm');
    const key = randomUUID();
    const first = await postOrder(stack.ordersUrl, token, { key });
    expect(first.status).toBe(201);
    const body = await first.text();
    const lookups = jest.spyOn(stack.orders.get(IdempotencyRepository), 'insertOrFind');
    try {
      for (let i = 0; i < 5; i++) {
        const replay = await postOrder(stack.ordersUrl, token, { key });
        expect(replay.status).toBe(201);
        expect(replay.headers.get('idempotent-replayed')).toBe('true');
        expect(await replay.text()).toBe(body);
      }
      await expectProblem(
        await postOrder(stack.ordersUrl, token, { key, body: { ...cart, currency: 'eur' } }),
        422,
        '/problems/idempotency-key-reused',
      );
      expect(lookups).not.toHaveBeenCalled();
    } finally {
      lookups.mockRestore();
    }
    expect(await orderCount('cus_retry_storm')).toBe(1);
  });

  it('keeps completed keys across a restart of orders', async () => {
    const token = await tokenFor('cus_restart');
    const key = randomUUID();
    const first = await postOrder(stack.ordersUrl, token, { key });
    const body = await first.text();
    await stack.stopOrders();
    await stack.startOrders();
    const replay = await postOrder(stack.ordersUrl, token, { key });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.text()).toBe(body);
  });

  it('treats an expired key as new, and cleans expired keys up', async () => {
    const customer = `cus_${randomUUID()}`;
    const token = await tokenFor(customer);
    const key = randomUUID();
    const first = (await (await postOrder(stack.ordersUrl, token, { key })).json()) as OrderBody;
    await orders.query(
      "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE customer_id = $1",
      [customer],
    );
    // The key expired in the database, not in orders' memory of recent keys (which lives no
    // longer than the key): a restart forgets it, as the passing of that much time would.
    await stack.stopOrders();
    await stack.startOrders();
    const again = await postOrder(stack.ordersUrl, token, { key });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(((await again.json()) as OrderBody).id).not.toBe(first.id);

    await orders.query(
      "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE customer_id = $1",
      [customer],
    );
    expect(await stack.orders.get(IdempotencyCleanup).sweep()).toBeGreaterThanOrEqual(1);
    const { rows } = await orders.query('SELECT 1 FROM idempotency_keys WHERE customer_id = $1', [
      customer,
    ]);
    expect(rows).toHaveLength(0);
  });

  it('is not poisoned by a transient failure: the retry completes the same order', async () => {
    const customer = `cus_${randomUUID()}`;
    const token = await tokenFor(customer);
    const key = randomUUID();
    await stack.stopPayments();
    try {
      await expectProblem(
        await postOrder(stack.ordersUrl, token, { key }),
        503,
        '/problems/unavailable',
      );
    } finally {
      await stack.startPayments();
    }
    const retried = await eventually(() => postOrder(stack.ordersUrl, token, { key }));
    expect(retried.status).toBe(201);
    const order = (await retried.json()) as OrderBody;
    expect(order.status).toBe('awaiting_payment');
    expect(await orderCount(customer)).toBe(1);
    expect(intentsFor(order.id)).toHaveLength(1);
  });
});
