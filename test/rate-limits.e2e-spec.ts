import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { freePort } from '#testing/ports.js';
import { cart, expectProblem, postOrder } from './support/http.js';
import { deliver, event, paymentIntent, signed } from './support/stripe-events.js';
import { Stack, startTestOrders, tokenFor } from './support/stack.js';

const LIMITS = {
  RATE_LIMIT_DEFAULT_LIMIT: '6',
  RATE_LIMIT_CHECKOUT_LIMIT: '2',
  RATE_LIMIT_CHECKOUT_ADDRESS_LIMIT: '12',
  RATE_LIMIT_WEBHOOK_LIMIT: '3',
};
const INTERNAL_API_KEY = 'internal-key-for-rate-limit-tests-0123456789';
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
    stack = await Stack.start({ orders: { ...LIMITS, INTERNAL_API_KEY }, payments: LIMITS });
    const [httpPort, grpcPort] = await Promise.all([freePort(), freePort()]);
    proxied = await startTestOrders({
      httpPort,
      grpcPort,
      databaseUrl: stack.ordersDb.url,
      paymentsUrl: stack.paymentsGrpcUrl,
      env: { ...LIMITS, INTERNAL_API_KEY, TRUSTED_PROXIES: '127.0.0.1,::1' },
    });
    proxiedUrl = `http://127.0.0.1:${httpPort}`;
  });

  afterAll(async () => {
    await proxied?.close();
    await stack?.stop();
  });

  const customer = () => tokenFor(`cus_${randomUUID()}`);
  const postOrderFrom = (baseUrl: string, token: string, address: string) =>
    fetch(`${baseUrl}/api/v1/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
        'x-forwarded-for': address,
      },
      body: JSON.stringify(cart),
    });
  const list = (baseUrl: string, headers: Record<string, string> = {}) =>
    fetch(`${baseUrl}/api/v1/orders`, { headers });

  it("refuses a customer's checkout over its limit with a 429 problem, Retry-After and the limit fields; another customer is served", async () => {
    const [alice, bob] = await Promise.all([customer(), customer()]);
    expect((await postOrder(stack.ordersUrl, alice)).status).toBe(201);
    const second = await postOrder(stack.ordersUrl, alice);
    expect(second.status).toBe(201);
    expectLimitFields(second, ['default', 'checkout', 'checkout_address']);
    expect(second.headers.get('ratelimit-policy')).toBe(
      '"default";q=6;w=60, "checkout";q=2;w=60, "checkout_address";q=12;w=60',
    );
    expect(remaining(second, 'checkout')).toBe(0);

    const refused = await postOrder(stack.ordersUrl, alice);
    const problem = await expectProblem(refused, 429, '/problems/rate-limited');
    expect(problem.title).toBe('Too many requests');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expectLimitFields(refused, ['default', 'checkout', 'checkout_address']);
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

  const push = (baseUrl: string, headers: Record<string, string>, body = '{}') =>
    fetch(`${baseUrl}/api/v1/webhooks/payment-updates`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-idempotency-key': randomUUID(),
        ...headers,
      },
      body,
    });

  it("counts orders' internal pushes with a wrong API key per address; a valid key is never refused by that budget", async () => {
    const address = clientAddress();
    const frank = await customer();
    const attempts: Record<string, string>[] = [
      {},
      { 'x-api-key': 'a-guess' },
      { authorization: `Bearer ${frank}` },
    ];
    for (const headers of attempts) {
      const response = await push(proxiedUrl, { ...headers, 'x-forwarded-for': address });
      await expectProblem(response, 401, '/problems/unauthenticated');
      expect(response.headers.get('ratelimit-policy')).toBe('"webhook";q=3;w=60');
    }
    // Refused before its body is read: this one is not even JSON.
    const refused = await push(proxiedUrl, { 'x-forwarded-for': address }, '{"not json');
    await expectProblem(refused, 429, '/problems/rate-limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    // The genuine caller on the same address is served (its body is then validated: 422).
    const genuine = await push(proxiedUrl, {
      'x-api-key': INTERNAL_API_KEY,
      'x-forwarded-for': address,
    });
    await expectProblem(genuine, 422, '/problems/validation-failed');
    expect(genuine.headers.get('ratelimit')).toBeNull();
    // The customer's own budget was not touched by the push.
    const read = await list(stack.ordersUrl, { authorization: `Bearer ${frank}` });
    expect(remaining(read, 'default')).toBe(5);
  });

  it("accepts Stripe's signed delivery from an address whose forged deliveries are refused", async () => {
    const forged = {
      payload: JSON.stringify(event('payment_intent.succeeded', paymentIntent({ id: 'pi_flood' }))),
      // Well formed and fresh, so it is read and verified: the signature is simply wrong.
      signature: `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`,
    };
    for (let i = 0; i < 3; i++) {
      const response = await deliver(stack.paymentsUrl, forged);
      await expectProblem(response, 400, '/problems/bad-request');
      expect(response.headers.get('ratelimit-policy')).toBe('"webhook";q=3;w=60');
    }
    for (let i = 0; i < 20; i++) {
      await expectProblem(await deliver(stack.paymentsUrl, forged), 429, '/problems/rate-limited');
    }
    // A malformed signature header is refused before the body, and counted the same way.
    await expectProblem(
      await deliver(stack.paymentsUrl, { ...forged, signature: 't=1,v1=bad' }),
      429,
      '/problems/rate-limited',
    );

    const genuine = event('payment_intent.succeeded', paymentIntent({ id: 'pi_unknown_to_us' }));
    const accepted = await deliver(stack.paymentsUrl, signed(genuine));
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toEqual({ received: true, outcome: 'ignored' });
    expect(accepted.headers.get('ratelimit')).toBeNull();
  });

  it('limits checkouts per client address, across customers (card-testing rings)', async () => {
    const address = clientAddress();
    const customers = await Promise.all(Array.from({ length: 30 }, () => customer()));
    const statuses: number[] = [];
    for (const token of customers) {
      const response = await fetch(`${proxiedUrl}/api/v1/orders`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
          'x-forwarded-for': address,
        },
        body: JSON.stringify(cart),
      });
      statuses.push(response.status);
      if (response.status === 429) {
        const problem = await expectProblem(response, 429, '/problems/rate-limited');
        expect(problem.detail).toContain('checkout_address');
      }
    }
    expect(statuses.filter((status) => status === 201)).toHaveLength(12);
    expect(statuses.slice(12).every((status) => status === 429)).toBe(true);
    // Another address is not held back by this one.
    const other = await postOrderFrom(proxiedUrl, await customer(), clientAddress());
    expect(other.status).toBe(201);
  });

  it('counts unrouted paths against the default policy, before reading any body', async () => {
    const address = clientAddress();
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`${proxiedUrl}/api/v1/nothing-here-${i}`, {
        headers: { 'x-forwarded-for': address },
      });
      await expectProblem(response, 404, '/problems/not-found');
      expectLimitFields(response, ['default']);
    }
    const refused = await fetch(`${proxiedUrl}/api/v1/orders`, {
      method: 'POST',
      headers: { 'x-forwarded-for': address, 'content-type': 'application/json' },
      body: '{"not json',
    });
    await expectProblem(refused, 429, '/problems/rate-limited');
  });

  it("counts payments' unrouted paths per address", async () => {
    for (let i = 0; i < 6; i++) {
      expect((await fetch(`${stack.paymentsUrl}/nothing-here`)).status).toBe(404);
    }
    await expectProblem(
      await fetch(`${stack.paymentsUrl}/nothing-here`),
      429,
      '/problems/rate-limited',
    );
    // Stripe's deliveries are not under that budget.
    const genuine = event('payment_intent.succeeded', paymentIntent({ id: 'pi_not_ours' }));
    expect((await deliver(stack.paymentsUrl, signed(genuine))).status).toBe(200);
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
    expectLimitFields(created, ['default', 'checkout', 'checkout_address']);
    expect(remaining(created, 'checkout')).toBe(1);

    const replayed = await postOrder(stack.ordersUrl, grace, { key });
    expect(replayed.status).toBe(201);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expectLimitFields(replayed, ['default', 'checkout', 'checkout_address']);
    expect(remaining(replayed, 'checkout')).toBe(0);

    const missing = await fetch(`${stack.ordersUrl}/api/v1/orders/${randomUUID()}`, {
      headers: { authorization: `Bearer ${grace}` },
    });
    await expectProblem(missing, 404, '/problems/not-found');
    expectLimitFields(missing, ['default']);

    const invalid = await postOrder(stack.ordersUrl, heidi, { body: { ...cart, items: [] } });
    await expectProblem(invalid, 422, '/problems/validation-failed');
    expectLimitFields(invalid, ['default', 'checkout', 'checkout_address']);
  });
});
