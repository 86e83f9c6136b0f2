import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { freePort } from '#testing/ports.js';
import { cart, expectProblem, postOrder } from './support/http.js';
import { Stack, startTestOrders, tokenFor } from './support/stack.js';

const LIMITS = {
  RATE_LIMIT_DEFAULT_LIMIT: '6',
  RATE_LIMIT_CHECKOUT_LIMIT: '2',
  RATE_LIMIT_WEBHOOK_LIMIT: '3',
};
const OTHER_SECRET = 'a-secret-that-orders-does-not-know-0123456789';

/** A fresh documentation address (RFC 5737) per call, so each test has its own client. */
let nextAddress = 1;
const clientAddress = () => `198.51.100.${nextAddress++}`;

function expectLimitFields(response: Response, policies: string[]): void {
  const policy = response.headers.get('ratelimit-policy') ?? '';
  const current = response.headers.get('ratelimit') ?? '';
  expect(policy.split(', ').map((item) => item.split(';')[0])).toEqual(
    policies.map((p) => `"${p}"`),
  );
  expect(current).toMatch(/^"\w+";r=\d+;t=\d+(, "\w+";r=\d+;t=\d+)*$/);
  expect(response.headers.get('x-ratelimit-limit')).toMatch(/^\d+$/);
  expect(response.headers.get('x-ratelimit-remaining')).toMatch(/^\d+$/);
  expect(response.headers.get('x-ratelimit-reset')).toMatch(/^\d+$/);
}

/** `r` of one policy in the RateLimit field. */
function remaining(response: Response, policy: string): number {
  const match = new RegExp(`"${policy}";r=(\\d+)`).exec(response.headers.get('ratelimit') ?? '');
  if (!match) throw new Error(`no ${policy} item in RateLimit`);
  return Number(match[1]);
}

describe('rate limits (in memory)', () => {
  let stack: Stack;
  /** A second orders instance behind a trusted proxy (127.0.0.1), on the same database. */
  let proxied: NestFastifyApplication;
  let proxiedUrl: string;

  beforeAll(async () => {
    stack = await Stack.start({ orders: LIMITS, payments: LIMITS });
    const [httpPort, grpcPort] = await Promise.all([freePort(), freePort()]);
    proxied = await startTestOrders({
      httpPort,
      grpcPort,
      databaseUrl: stack.ordersDb.url,
      paymentsUrl: stack.paymentsGrpcUrl,
      env: { ...LIMITS, TRUSTED_PROXIES: '127.0.0.1,::1' },
    });
    proxiedUrl = `http://127.0.0.1:${httpPort}`;
  });

  afterAll(async () => {
    await proxied?.close();
    await stack?.stop();
  });

  const customer = () => tokenFor(`cus_${randomUUID()}`);
  const list = (baseUrl: string, headers: Record<string, string> = {}) =>
    fetch(`${baseUrl}/api/v1/orders`, { headers });

  it("refuses a customer's checkout over its limit with a 429 problem, Retry-After and the limit fields; another customer is served", async () => {
    const [alice, bob] = await Promise.all([customer(), customer()]);
    expect((await postOrder(stack.ordersUrl, alice)).status).toBe(201);
    const second = await postOrder(stack.ordersUrl, alice);
    expect(second.status).toBe(201);
    expectLimitFields(second, ['default', 'checkout']);
    expect(second.headers.get('ratelimit-policy')).toBe('"default";q=6;w=60, "checkout";q=2;w=60');
    expect(remaining(second, 'checkout')).toBe(0);

    const refused = await postOrder(stack.ordersUrl, alice);
    const problem = await expectProblem(refused, 429, '/problems/rate-limited');
    expect(problem.title).toBe('Too many requests');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expectLimitFields(refused, ['default', 'checkout']);
    expect(refused.headers.get('x-ratelimit-limit')).toBe('2');
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');

    expect((await postOrder(stack.ordersUrl, bob)).status).toBe(201);
    const orders = (await (
      await list(stack.ordersUrl, { authorization: `Bearer ${alice}` })
    ).json()) as {
      data: unknown[];
    };
    expect(orders.data).toHaveLength(2);
  });

  it("limits a customer's reads with the default policy only", async () => {
    const [carol, dave] = await Promise.all([customer(), customer()]);
    for (let i = 0; i < 6; i++) {
      const response = await list(stack.ordersUrl, { authorization: `Bearer ${carol}` });
      expect(response.status).toBe(200);
      expectLimitFields(response, ['default']);
      expect(remaining(response, 'default')).toBe(5 - i);
    }
    await expectProblem(
      await list(stack.ordersUrl, { authorization: `Bearer ${carol}` }),
      429,
      '/problems/rate-limited',
    );
    expect((await list(stack.ordersUrl, { authorization: `Bearer ${dave}` })).status).toBe(200);
  });

  it('limits anonymous requests per client address, counting unverifiable tokens as anonymous', async () => {
    const address = clientAddress();
    const anonymous: Record<string, string>[] = [
      {},
      { authorization: 'Bearer not-a-token' },
      {
        authorization: `Bearer ${await tokenFor(`cus_${randomUUID()}`, { secret: OTHER_SECRET })}`,
      },
      {
        authorization: `Bearer ${await tokenFor(`cus_${randomUUID()}`, { secret: OTHER_SECRET })}`,
      },
      { authorization: `Bearer ${await tokenFor('cus_x', { expiresIn: 1 })}` },
      {},
    ];
    for (const headers of anonymous) {
      const response = await list(proxiedUrl, { ...headers, 'x-forwarded-for': address });
      await expectProblem(response, 401, '/problems/unauthenticated');
      expectLimitFields(response, ['default']);
    }
    const forged = await tokenFor(`cus_${randomUUID()}`, { secret: OTHER_SECRET });
    await expectProblem(
      await list(proxiedUrl, { authorization: `Bearer ${forged}`, 'x-forwarded-for': address }),
      429,
      '/problems/rate-limited',
    );
    // A verified customer on the same address has a budget of their own.
    const erin = await customer();
    const served = await list(proxiedUrl, {
      authorization: `Bearer ${erin}`,
      'x-forwarded-for': address,
    });
    expect(served.status).toBe(200);
  });

  it('ignores X-Forwarded-For when no proxy is trusted', async () => {
    for (let i = 0; i < 6; i++) {
      const response = await list(stack.ordersUrl, { 'x-forwarded-for': clientAddress() });
      expect(response.status).toBe(401);
    }
    await expectProblem(
      await list(stack.ordersUrl, { 'x-forwarded-for': clientAddress() }),
      429,
      '/problems/rate-limited',
    );
  });

  it('takes the client address from a trusted proxy, not one the client prepended', async () => {
    const [exhausted, other] = [clientAddress(), clientAddress()];
    for (let i = 0; i < 6; i++) {
      expect((await list(proxiedUrl, { 'x-forwarded-for': exhausted })).status).toBe(401);
    }
    expect((await list(proxiedUrl, { 'x-forwarded-for': exhausted })).status).toBe(429);
    // The proxy appends the address it saw; what the client wrote before it is not believed.
    expect((await list(proxiedUrl, { 'x-forwarded-for': `${other}, ${exhausted}` })).status).toBe(
      429,
    );
    expect((await list(proxiedUrl, { 'x-forwarded-for': other })).status).toBe(401);
  });

  it("limits orders' internal webhook per client address with its own policy, whatever the token", async () => {
    const frank = await customer();
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${stack.ordersUrl}/api/v1/webhooks/payment-updates`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await customer()}`,
          'content-type': 'application/json',
          'x-idempotency-key': randomUUID(),
        },
        body: '{}',
      });
      await expectProblem(response, 401, '/problems/unauthenticated');
      expectLimitFields(response, ['webhook']);
      expect(response.headers.get('ratelimit-policy')).toBe('"webhook";q=3;w=60');
    }
    const refused = await fetch(`${stack.ordersUrl}/api/v1/webhooks/payment-updates`, {
      method: 'POST',
      headers: { authorization: `Bearer ${frank}`, 'content-type': 'application/json' },
      body: '{}',
    });
    await expectProblem(refused, 429, '/problems/rate-limited');
    // The customer's own budget was not touched by the webhook calls.
    const read = await list(stack.ordersUrl, { authorization: `Bearer ${frank}` });
    expect(remaining(read, 'default')).toBe(5);
  });

  it("limits payments' Stripe webhook per client address with its own policy", async () => {
    const deliver = () =>
      fetch(`${stack.paymentsUrl}/webhooks/stripe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=bad' },
        body: '{}',
      });
    for (let i = 0; i < 3; i++) {
      const response = await deliver();
      expect(response.status).toBe(400);
      expect(response.headers.get('ratelimit-policy')).toBe('"webhook";q=3;w=60');
    }
    const refused = await deliver();
    await expectProblem(refused, 429, '/problems/rate-limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('never throttles health probes', async () => {
    for (const url of [stack.ordersUrl, stack.paymentsUrl]) {
      for (let i = 0; i < 10; i++) {
        const response = await fetch(`${url}/health/${i % 2 === 0 ? 'live' : 'ready'}`);
        expect(response.status).toBe(200);
        expect(response.headers.get('ratelimit')).toBeNull();
      }
    }
  });

  it('puts the limit fields on successes, errors and idempotent replays', async () => {
    const [grace, heidi] = await Promise.all([customer(), customer()]);
    const key = randomUUID();
    const created = await postOrder(stack.ordersUrl, grace, { key });
    expect(created.status).toBe(201);
    expectLimitFields(created, ['default', 'checkout']);
    expect(remaining(created, 'checkout')).toBe(1);

    const replayed = await postOrder(stack.ordersUrl, grace, { key });
    expect(replayed.status).toBe(201);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expectLimitFields(replayed, ['default', 'checkout']);
    expect(remaining(replayed, 'checkout')).toBe(0);

    const missing = await fetch(`${stack.ordersUrl}/api/v1/orders/${randomUUID()}`, {
      headers: { authorization: `Bearer ${grace}` },
    });
    await expectProblem(missing, 404, '/problems/not-found');
    expectLimitFields(missing, ['default']);

    const invalid = await postOrder(stack.ordersUrl, heidi, { body: { ...cart, items: [] } });
    await expectProblem(invalid, 422, '/problems/validation-failed');
    expectLimitFields(invalid, ['default', 'checkout']);
  });
});
