import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Stripe from 'stripe';
import { STAND_IN_STRIPE_KEY } from '#common/config/defaults.js';
import { registeredRoutes } from '#common/http/server.js';
import { freePort } from '#testing/ports.js';
import { cart, type OrderBody } from './support/http.js';
import { type ObservedExchange, OpenApiContract } from './support/openapi-contract.js';
import { Stack, startTestOrders, tokenFor } from './support/stack.js';
import { waitFor } from './support/wait.js';

const INTERNAL_API_KEY = 'contract-test-internal-api-key-0123456789';
const DOCS_ROUTES = ['/api/openapi.json', '/api/docs'];

interface Call {
  token?: string;
  key?: string;
  body?: unknown;
  /** Sent as is, instead of `body` as JSON. */
  raw?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/**
 * The document against the running code: real requests to a real stack (both services, the
 * Stripe stand-in), covering every documented operation with its successes and the errors a
 * client can provoke; each answer must be one the document lists, with a body its schema accepts.
 */
describe('OpenAPI contract (end to end)', () => {
  const contract = new OpenApiContract();
  let stack: Stack;
  let limited: NestFastifyApplication | undefined;
  let limitedUrl = '';
  let stripe: Stripe;
  let customer: string;
  let admin: string;
  let roleless: string;

  beforeAll(async () => {
    stack = await Stack.start({ webhooks: true, orders: { INTERNAL_API_KEY } });
    const [httpPort, grpcPort] = await Promise.all([freePort(), freePort()]);
    // A second orders instance on the same database, allowing one request per minute.
    limited = await startTestOrders({
      httpPort,
      grpcPort,
      databaseUrl: stack.ordersDb.url,
      paymentsUrl: stack.paymentsGrpcUrl,
      env: { RATE_LIMIT_DEFAULT_LIMIT: '1' },
    });
    limitedUrl = `http://127.0.0.1:${httpPort}`;
    stripe = new Stripe(STAND_IN_STRIPE_KEY, {
      host: '127.0.0.1',
      port: stack.stripe.port,
      protocol: 'http',
      maxNetworkRetries: 0,
    });
    const subject = `contract-${randomUUID()}`;
    [customer, admin, roleless] = await Promise.all([
      tokenFor(subject),
      tokenFor('contract-admin', { roles: ['admin'] }),
      tokenFor(subject, { roles: ['auditor'] }),
    ]);
  });

  afterAll(async () => {
    await limited?.close();
    await stack?.stop();
  });

  async function call(
    method: 'GET' | 'POST',
    path: string,
    options: Call = {},
    baseUrl = stack.ordersUrl,
  ): Promise<ObservedExchange> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.key) headers['idempotency-key'] = options.key;
    let body: string | undefined = options.raw;
    if (body === undefined && options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
    return {
      method,
      url: path,
      status: response.status,
      headers: response.headers,
      body: await response.text(),
    };
  }

  /** The answer has the status and is what the document says it is. */
  function expectDocumented(exchange: ObservedExchange, status: number): void {
    expect({ status: exchange.status, body: exchange.body }).toMatchObject({ status });
    expect(contract.problemsWith(exchange)).toEqual([]);
  }

  async function newOrder(): Promise<OrderBody> {
    const created = await call('POST', '/api/v1/orders', {
      token: customer,
      key: randomUUID(),
      body: cart,
    });
    expectDocumented(created, 201);
    return JSON.parse(created.body) as OrderBody;
  }

  async function paidOrder(): Promise<OrderBody> {
    const order = await newOrder();
    const intent = order.payment!.clientSecret!.split('_secret_')[0];
    await stripe.paymentIntents.confirm(intent, { payment_method: 'pm_card_visa' });
    return waitFor(`order ${order.id} to be paid`, async () => {
      const read = await call('GET', `/api/v1/orders/${order.id}`, { token: customer });
      const current = JSON.parse(read.body) as OrderBody;
      return current.status === 'paid' ? current : undefined;
    });
  }

  it('fails an answer that the document does not describe (the checker can fail)', () => {
    const order = { id: 'not-a-uuid', status: 'shipped' };
    const wrong = (status: number, body: unknown, contentType = 'application/json') => ({
      method: 'GET',
      url: `/api/v1/orders/${randomUUID()}`,
      status,
      headers: new Headers({ 'content-type': contentType, 'x-request-id': 'r' }),
      body: JSON.stringify(body),
    });
    expect(contract.problemsWith(wrong(200, order))).toEqual([
      expect.stringMatching(/must match format "uuid"|must have required property/),
    ]);
    expect(contract.problemsWith(wrong(418, {}))).toEqual([
      expect.stringContaining('status 418 is not documented'),
    ]);
    expect(contract.problemsWith(wrong(404, {}, 'application/json'))).toEqual([
      expect.stringContaining('content type application/json is not documented'),
    ]);
  });

  it('POST /api/v1/orders: created, replayed, and every refusal', async () => {
    const key = randomUUID();
    const created = await call('POST', '/api/v1/orders', { token: customer, key, body: cart });
    expectDocumented(created, 201);
    const replayed = await call('POST', '/api/v1/orders', { token: customer, key, body: cart });
    expectDocumented(replayed, 201);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    const post = (options: Call) => call('POST', '/api/v1/orders', options);
    expectDocumented(await post({ token: customer, body: cart }), 400);
    expectDocumented(await post({ token: customer, key: randomUUID(), raw: '{"currency":' }), 400);
    expectDocumented(await post({ key: randomUUID(), body: cart }), 401);
    expectDocumented(await post({ token: admin, key: randomUUID(), body: cart }), 403);
    const huge = JSON.stringify({ ...cart, padding: 'x'.repeat(70_000) });
    expectDocumented(await post({ token: customer, key: randomUUID(), raw: huge }), 413);
    expectDocumented(
      await post({ token: customer, key: randomUUID(), raw: 'x', contentType: 'text/plain' }),
      415,
    );
    const invalid = { currency: 'xxx', items: [{ sku: 'a b', quantity: 0 }] };
    expectDocumented(await post({ token: customer, key: randomUUID(), body: invalid }), 422);
    const reused = { ...cart, currency: 'eur' };
    expectDocumented(await post({ token: customer, key, body: reused }), 422);
  });

  it('GET /api/v1/orders: a page, and its refusals', async () => {
    await newOrder();
    expectDocumented(await call('GET', '/api/v1/orders?limit=1', { token: customer }), 200);
    expectDocumented(await call('GET', '/api/v1/orders?limit=0', { token: customer }), 422);
    expectDocumented(await call('GET', '/api/v1/orders'), 401);
    expectDocumented(await call('GET', '/api/v1/orders', { token: admin }), 403);
    expectDocumented(
      await call('GET', '/api/v1/orders', {
        token: customer,
        headers: { 'x-request-id': 'contract-check' },
      }),
      200,
    );
  });

  it('GET /api/v1/orders/{id}: the order, and its refusals', async () => {
    const order = await newOrder();
    expectDocumented(await call('GET', `/api/v1/orders/${order.id}`, { token: customer }), 200);
    expectDocumented(await call('GET', `/api/v1/orders/${order.id}`, { token: admin }), 200);
    expectDocumented(await call('GET', `/api/v1/orders/${randomUUID()}`, { token: customer }), 404);
    expectDocumented(await call('GET', `/api/v1/orders/${order.id}`, { token: roleless }), 403);
    expectDocumented(await call('GET', `/api/v1/orders/${order.id}`), 401);
  });

  it('POST /api/v1/orders/{id}/cancel: canceled, and its refusals', async () => {
    const order = await newOrder();
    const cancel = (id: string, options: Call) =>
      call('POST', `/api/v1/orders/${id}/cancel`, options);
    expectDocumented(await cancel(order.id, { token: customer, key: randomUUID() }), 200);
    expectDocumented(await cancel(order.id, { token: customer }), 400);
    expectDocumented(
      await cancel(order.id, { token: customer, key: randomUUID(), body: { a: 1 } }),
      422,
    );
    expectDocumented(await cancel(randomUUID(), { token: customer, key: randomUUID() }), 404);
    const paid = await paidOrder();
    expectDocumented(await cancel(paid.id, { token: customer, key: randomUUID() }), 409);
  });

  it('POST /api/v1/orders/{id}/refunds: refunded, and its refusals', async () => {
    const refund = (id: string, options: Call) =>
      call('POST', `/api/v1/orders/${id}/refunds`, options);
    const unpaid = await newOrder();
    expectDocumented(
      await refund(unpaid.id, { token: customer, key: randomUUID(), body: {} }),
      409,
    );
    const paid = await paidOrder();
    const partial = { amount: 100, reason: 'requested_by_customer' };
    expectDocumented(
      await refund(paid.id, { token: customer, key: randomUUID(), body: partial }),
      201,
    );
    const tooMuch = { amount: paid.amount };
    expectDocumented(
      await refund(paid.id, { token: customer, key: randomUUID(), body: tooMuch }),
      422,
    );
    expectDocumented(
      await refund(paid.id, { token: customer, key: randomUUID(), body: { amount: -1 } }),
      422,
    );
    expectDocumented(
      await refund(randomUUID(), { token: customer, key: randomUUID(), body: {} }),
      404,
    );
  });

  it('POST /api/v1/webhooks/payment-updates: applied, and its refusals', async () => {
    const order = await newOrder();
    const update = {
      orderId: order.id,
      paymentId: order.payment!.id,
      paymentStatus: 'processing',
      paymentVersion: 2,
    };
    const push = (body: unknown, headers: Record<string, string>) =>
      call('POST', '/api/v1/webhooks/payment-updates', { body, headers });
    const keyed = () => ({ 'x-api-key': INTERNAL_API_KEY, 'x-idempotency-key': randomUUID() });
    expectDocumented(await push(update, keyed()), 200);
    expectDocumented(await push(update, { 'x-api-key': INTERNAL_API_KEY }), 400);
    expectDocumented(await push(update, { ...keyed(), 'x-api-key': 'wrong' }), 401);
    expectDocumented(await push({ ...update, orderId: randomUUID() }, keyed()), 404);
    expectDocumented(await push({ ...update, paymentVersion: 0 }, keyed()), 422);
  });

  it('health: live and ready', async () => {
    expectDocumented(await call('GET', '/health/live'), 200);
    expectDocumented(await call('GET', '/health/ready'), 200);
  });

  it('a request over the rate limit', async () => {
    const read = () => call('GET', '/api/v1/orders', { token: customer }, limitedUrl);
    expectDocumented(await read(), 200);
    const refused = await read();
    expectDocumented(refused, 429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('a checkout while payments is down', async () => {
    await stack.stopPayments();
    const created = await call('POST', '/api/v1/orders', {
      token: customer,
      key: randomUUID(),
      body: cart,
    });
    expectDocumented(created, 503);
  });

  it('documents every route orders serves, and every operation answered a success here', () => {
    const served = registeredRoutes(stack.orders)
      .filter(({ method }) => method !== 'HEAD' && method !== 'OPTIONS')
      .filter(({ url }) => !DOCS_ROUTES.some((docs) => url.startsWith(docs)))
      .map(({ method, url }) => `${method} ${url.replace(/:(\w+)/g, '{$1}')}`);
    expect([...new Set(served)].sort()).toEqual(contract.operations().sort());
    for (const operation of contract.operations()) {
      const successes = [...contract.seen].filter(
        (seen) => seen.startsWith(`${operation} `) && /\s2\d\d$/.test(seen),
      );
      expect({ operation, successes }).toEqual({ operation, successes: expect.any(Array) });
      expect(successes.length).toBeGreaterThan(0);
    }
  });
});
