import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWTPayload,
  SignJWT,
} from 'jose';
import pg from 'pg';
import Stripe from 'stripe';
import { DEV_JWT_SECRET, STAND_IN_STRIPE_KEY } from '#common/config/defaults.js';
import { freePort } from '#testing/ports.js';
import { cart, expectProblem, type OrderBody, sendHeaders } from './support/http.js';
import { Stack, startTestOrders } from './support/stack.js';
import { waitFor } from './support/wait.js';

/**
 * Who may do what on the storefront API, as a table: every endpoint against every kind of caller
 * and token. orders (with payments and the Stripe stand-in behind it) runs twice on one database:
 * the stack's instance verifies RS256 tokens against a JWKS served over HTTP by this test, a
 * second instance verifies ES256 tokens against a PEM public key.
 */

const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'orders-api';
const OWNER = 'cus_owner';
const OTHER = 'cus_other';
const ADMIN = 'adm_support';
const KID = 'storefront-2026';
/** JWT_MAX_TOKEN_LIFETIME_SECONDS and JWT_CLOCK_SKEW_SECONDS by default. */
const DAY = 24 * 3600;
const SKEW = 30;

interface Keys {
  rsa: { privateKey: CryptoKey; publicKey: CryptoKey; pem: string };
  ec: { privateKey: CryptoKey; publicKey: CryptoKey; pem: string };
  forger: CryptoKey;
}

interface TokenSpec {
  /** Not only strings: what a token may carry, not what jose would let us sign. */
  sub?: unknown;
  roles?: unknown;
  alg?: 'RS256' | 'ES256' | 'HS256';
  key?: CryptoKey | Uint8Array;
  iss?: string;
  aud?: string;
  /** Seconds from now, or a moment. */
  exp?: number | Date;
  nbf?: number;
  /** Seconds from now (default 0); null leaves `iat` out. */
  iat?: number | null;
}

/** The orders instance a caller's tokens are meant for. */
type Instance = 'jwks' | 'pem';

interface Caller {
  instance: Instance;
  /** The token's subject (whose orders are "own"). */
  subject: string;
  /** The Authorization header, if any. */
  authorization: () => Promise<string | undefined>;
}

let keys: Keys;

async function sign(spec: TokenSpec): Promise<string> {
  const alg = spec.alg ?? 'RS256';
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: spec.sub ?? OWNER, ...(spec.roles !== undefined && { roles: spec.roles }) };
  const jwt = new SignJWT(claims as unknown as JWTPayload)
    .setProtectedHeader({ alg, typ: 'JWT', ...(alg === 'RS256' && { kid: KID }) })
    .setIssuer(spec.iss ?? ISSUER)
    .setAudience(spec.aud ?? AUDIENCE)
    .setExpirationTime(spec.exp instanceof Date ? spec.exp : now + (spec.exp ?? 300));
  if (spec.iat !== null) jwt.setIssuedAt(now + (spec.iat ?? 0));
  if (spec.nbf !== undefined) jwt.setNotBefore(now + spec.nbf);
  return jwt.sign(spec.key ?? (alg === 'ES256' ? keys.ec.privateKey : keys.rsa.privateKey));
}

const base64url = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');

function caller(spec: TokenSpec, instance: Instance = 'jwks'): Caller {
  return {
    instance,
    subject: typeof spec.sub === 'string' ? spec.sub : OWNER,
    authorization: async () => `Bearer ${await sign(spec)}`,
  };
}

const customer = ['customer'];

const CALLERS = {
  'the owner (RS256, key from the JWKS endpoint)': caller({ roles: customer }),
  'the owner (ES256, PEM public key)': caller({ alg: 'ES256', roles: customer }, 'pem'),
  'another customer': caller({ sub: OTHER, roles: customer }),
  'an admin (roles as a space-separated string)': caller({ sub: ADMIN, roles: 'admin support' }),
  'a valid token without roles': caller({}),
  'a valid token with only unknown roles': caller({ roles: ['superuser'] }),
  'no Authorization header': { ...caller({}), authorization: () => Promise.resolve(undefined) },
  'a malformed Authorization header': {
    ...caller({}),
    authorization: () => Promise.resolve('Token a.b.c'),
  },
  'an expired token': caller({ roles: customer, exp: -120 }),
  'a token not yet valid (nbf)': caller({ roles: customer, nbf: 600, exp: 900 }),
  'a token signed with another key (same kid)': {
    ...caller({}),
    authorization: async () => `Bearer ${await sign({ roles: customer, key: keys.forger })}`,
  },
  'an unsigned token (alg none)': {
    ...caller({}),
    authorization: () => {
      const exp = Math.floor(Date.now() / 1000) + 300;
      const claims = { sub: OWNER, roles: customer, iss: ISSUER, aud: AUDIENCE, exp };
      return Promise.resolve(
        `Bearer ${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`,
      );
    },
  },
  'HS256 signed with the PEM public key as secret': {
    ...caller({}, 'pem'),
    authorization: async () => {
      const key = new TextEncoder().encode(keys.ec.pem);
      return `Bearer ${await sign({ alg: 'HS256', roles: customer, key })}`;
    },
  },
  'HS256 signed with the JWKS key’s PEM as secret': {
    ...caller({}),
    authorization: async () => {
      const key = new TextEncoder().encode(keys.rsa.pem);
      return `Bearer ${await sign({ alg: 'HS256', roles: customer, key })}`;
    },
  },
  'HS256 signed with the development secret': caller({
    alg: 'HS256',
    roles: customer,
    key: new TextEncoder().encode(DEV_JWT_SECRET),
  }),
  'a token from another issuer': caller({ roles: customer, iss: 'https://evil.example/' }),
  'a token for another audience': caller({ roles: customer, aud: 'payments-api' }),
  'a subject that is an array': caller({ roles: customer, sub: [OWNER] }),
  'a subject that is a number': caller({ roles: customer, sub: 12345 }),
  'a subject that is a boolean': caller({ roles: customer, sub: true }),
  'a token living the maximum lifetime plus skew': caller({
    roles: customer,
    iat: -60,
    exp: DAY + SKEW - 60,
  }),
  'a token living a second longer': caller({ roles: customer, iat: -60, exp: DAY + SKEW - 59 }),
  'no iat, expiring a lifetime from now': caller({
    roles: customer,
    iat: null,
    exp: DAY + SKEW - 5,
  }),
  'no iat, expiring beyond a lifetime from now': caller({
    roles: customer,
    iat: null,
    exp: DAY + SKEW + 5,
  }),
  'a token expiring in the year 9999': caller({
    roles: customer,
    exp: new Date('9999-12-31T23:59:59Z'),
  }),
  'a token issued a day ahead': caller({ roles: customer, iat: DAY, exp: DAY + 300 }),
} satisfies Record<string, Caller>;

type CallerName = keyof typeof CALLERS;

/** What each caller gets from each endpoint. */
// prettier-ignore
const TABLE: [CallerName, number, number, number, number, number][] = [
  //                                                  create  list  get  cancel  refund
  ['the owner (RS256, key from the JWKS endpoint)',     201,   200,  200,  200,    201],
  ['the owner (ES256, PEM public key)',                 201,   200,  200,  200,    201],
  ['another customer',                                  201,   200,  404,  404,    404],
  ['an admin (roles as a space-separated string)',      403,   403,  200,  403,    201],
  ['a valid token without roles',                       403,   403,  403,  403,    403],
  ['a valid token with only unknown roles',             403,   403,  403,  403,    403],
  ['no Authorization header',                           401,   401,  401,  401,    401],
  ['a malformed Authorization header',                  401,   401,  401,  401,    401],
  ['an expired token',                                  401,   401,  401,  401,    401],
  ['a token not yet valid (nbf)',                       401,   401,  401,  401,    401],
  ['a token signed with another key (same kid)',        401,   401,  401,  401,    401],
  ['an unsigned token (alg none)',                      401,   401,  401,  401,    401],
  ['HS256 signed with the PEM public key as secret',    401,   401,  401,  401,    401],
  ['HS256 signed with the JWKS key’s PEM as secret',    401,   401,  401,  401,    401],
  ['HS256 signed with the development secret',          401,   401,  401,  401,    401],
  ['a token from another issuer',                       401,   401,  401,  401,    401],
  ['a token for another audience',                      401,   401,  401,  401,    401],
  ['a subject that is an array',                        401,   401,  401,  401,    401],
  ['a subject that is a number',                        401,   401,  401,  401,    401],
  ['a subject that is a boolean',                       401,   401,  401,  401,    401],
  ['a token living the maximum lifetime plus skew',     201,   200,  200,  200,    201],
  ['a token living a second longer',                    401,   401,  401,  401,    401],
  ['no iat, expiring a lifetime from now',              201,   200,  200,  200,    201],
  ['no iat, expiring beyond a lifetime from now',       401,   401,  401,  401,    401],
  ['a token expiring in the year 9999',                 401,   401,  401,  401,    401],
  ['a token issued a day ahead',                        401,   401,  401,  401,    401],
];

const PROBLEM_TYPE: Record<number, string> = {
  401: '/problems/unauthenticated',
  403: '/problems/forbidden',
  404: '/problems/not-found',
};

describe('storefront authentication and roles (end to end)', () => {
  let stack: Stack;
  let pemOrders: NestFastifyApplication;
  let pemUrl: string;
  let jwks: Server;
  let jwksRequests = 0;
  let db: pg.Pool;
  let stripe: Stripe;
  /** The owner's paid order every read goes to. */
  let shared: OrderBody;

  beforeAll(async () => {
    const [rsa, ec, forger] = await Promise.all([
      generateKeyPair('RS256', { extractable: true }),
      generateKeyPair('ES256', { extractable: true }),
      generateKeyPair('RS256'),
    ]);
    keys = {
      rsa: { ...rsa, pem: await exportSPKI(rsa.publicKey) },
      ec: { ...ec, pem: await exportSPKI(ec.publicKey) },
      forger: forger.privateKey,
    };
    const jwk = { ...(await exportJWK(rsa.publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
    jwks = createServer((request, response) => {
      jwksRequests++;
      if (request.url !== '/.well-known/jwks.json') return void response.writeHead(404).end();
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;

    const common = { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE };
    stack = await Stack.start({ webhooks: true, orders: { ...common, JWT_JWKS_URL: jwksUrl } });
    const [httpPort, grpcPort] = await Promise.all([freePort(), freePort()]);
    pemOrders = await startTestOrders({
      httpPort,
      grpcPort,
      databaseUrl: stack.ordersDb.url,
      paymentsUrl: stack.paymentsGrpcUrl,
      // As env files carry it: one line, literal \n escapes.
      env: { ...common, JWT_PUBLIC_KEY: keys.ec.pem.trim().replaceAll('\n', '\\n') },
    });
    pemUrl = `http://127.0.0.1:${httpPort}`;
    db = new pg.Pool({ connectionString: stack.ordersDb.url, max: 2 });
    stripe = new Stripe(STAND_IN_STRIPE_KEY, {
      host: '127.0.0.1',
      port: stack.stripe.port,
      protocol: 'http',
      maxNetworkRetries: 0,
    });
    shared = await paidOrder();
  });

  afterAll(async () => {
    await db?.end();
    await pemOrders?.close();
    await stack?.stop();
    await new Promise((resolve) => jwks?.close(resolve));
  });

  const urlOf = (instance: Instance) => (instance === 'pem' ? pemUrl : stack.ordersUrl);

  async function ownerAuthorization(): Promise<string> {
    return `Bearer ${await sign({ roles: ['customer'] })}`;
  }

  /** Several authorizations are sent as as many Authorization headers. */
  function send(
    instance: Instance,
    method: 'GET' | 'POST',
    path: string,
    authorization: string | string[] | undefined,
    options: { body?: unknown; key?: string } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    if (typeof authorization === 'string') headers.authorization = authorization;
    if (method === 'POST') {
      headers['content-type'] = 'application/json';
      headers['idempotency-key'] = options.key ?? randomUUID();
    }
    const url = `${urlOf(instance)}/api/v1/orders${path}`;
    const body = method === 'POST' ? JSON.stringify(options.body ?? {}) : undefined;
    if (Array.isArray(authorization)) {
      const repeated = authorization.map((value): [string, string] => ['authorization', value]);
      return sendHeaders(url, { method, headers: [...repeated, ...Object.entries(headers)], body });
    }
    return fetch(url, { method, headers, body });
  }

  async function ownerOrder(): Promise<OrderBody> {
    const response = await send('jwks', 'POST', '', await ownerAuthorization(), { body: cart });
    expect(response.status).toBe(201);
    return (await response.json()) as OrderBody;
  }

  async function paidOrder(): Promise<OrderBody> {
    const order = await ownerOrder();
    const intent = order.payment!.clientSecret!.split('_secret_')[0];
    await stripe.paymentIntents.confirm(intent, { payment_method: 'pm_card_visa' });
    return waitFor(`order ${order.id} to be paid`, async () => {
      const response = await send('jwks', 'GET', `/${order.id}`, await ownerAuthorization());
      const current = (await response.json()) as OrderBody;
      return current.status === 'paid' ? current : undefined;
    });
  }

  /** What a request could have changed: the target order, any new order, key or Stripe object. */
  async function sideEffects(target: string | undefined) {
    const { rows } = await db.query<{
      orders: number;
      keys: number;
      history: number;
      target: unknown;
    }>(
      `SELECT (SELECT count(*)::int FROM orders) AS orders,
              (SELECT count(*)::int FROM idempotency_keys) AS keys,
              (SELECT count(*)::int FROM order_status_history WHERE order_id = $1) AS history,
              (SELECT row_to_json(o) FROM (
                 SELECT status, amount_refunded, payment_status FROM orders WHERE id = $1
               ) o) AS target`,
      [target ?? randomUUID()],
    );
    return {
      ...rows[0],
      paymentIntents: stack.stripe.paymentIntents().length,
      refunds: stack.stripe.refunds().length,
    };
  }

  interface Endpoint {
    name: string;
    /** The order the request is about, made fresh when the request may change it. */
    target: () => Promise<OrderBody | undefined>;
    send: (
      caller: Caller,
      authorization: string | string[] | undefined,
      target?: OrderBody,
    ) => Promise<Response>;
    /** What a success shows the caller. */
    check: (caller: Caller, body: unknown, target?: OrderBody) => Promise<void> | void;
  }

  const ENDPOINTS: Endpoint[] = [
    {
      name: 'POST /api/v1/orders',
      target: () => Promise.resolve(undefined),
      send: (caller, authorization) =>
        send(caller.instance, 'POST', '', authorization, { body: cart }),
      check: async (caller, body) => {
        const { rows } = await db.query('SELECT customer_id FROM orders WHERE id = $1', [
          (body as OrderBody).id,
        ]);
        expect(rows).toEqual([{ customer_id: caller.subject }]);
      },
    },
    {
      name: 'GET /api/v1/orders',
      target: () => Promise.resolve(shared),
      send: (caller, authorization) => send(caller.instance, 'GET', '?limit=100', authorization),
      check: async (caller, body, target) => {
        const ids = (body as { data: OrderBody[] }).data.map((order) => order.id);
        const { rows } = await db.query<{ customer_id: string }>(
          'SELECT DISTINCT customer_id FROM orders WHERE id = ANY($1::uuid[])',
          [ids],
        );
        expect(rows.map((row) => row.customer_id)).toEqual(ids.length ? [caller.subject] : []);
        expect(ids.includes(target!.id)).toBe(caller.subject === OWNER);
      },
    },
    {
      name: 'GET /api/v1/orders/:id',
      target: () => Promise.resolve(shared),
      send: (caller, authorization, target) =>
        send(caller.instance, 'GET', `/${target!.id}`, authorization),
      check: (_, body, target) => expect(body).toMatchObject({ id: target!.id, status: 'paid' }),
    },
    {
      name: 'POST /api/v1/orders/:id/cancel',
      target: ownerOrder,
      send: (caller, authorization, target) =>
        send(caller.instance, 'POST', `/${target!.id}/cancel`, authorization),
      check: (_, body, target) =>
        expect(body).toMatchObject({ id: target!.id, status: 'canceled' }),
    },
    {
      name: 'POST /api/v1/orders/:id/refunds',
      target: paidOrder,
      send: (caller, authorization, target) =>
        send(caller.instance, 'POST', `/${target!.id}/refunds`, authorization, {
          body: { amount: 100 },
        }),
      check: async (caller, body, target) => {
        expect(body).toMatchObject({
          refund: { amount: 100 },
          order: { id: target!.id, status: 'partially_refunded' },
        });
        const { rows } = await db.query(
          `SELECT source FROM order_status_history
            WHERE order_id = $1 AND to_status = 'partially_refunded'`,
          [target!.id],
        );
        // Stripe's refund event may reach orders first; if not, the history names who refunded.
        const who = caller.subject === OWNER ? 'customer' : 'admin';
        expect(rows).toEqual([{ source: expect.stringMatching(`^(${who}|payment_update)$`) }]);
      },
    },
  ];

  describe.each(TABLE)('%s', (name, ...statuses) => {
    const caller: Caller = CALLERS[name];
    it.each(
      ENDPOINTS.map((endpoint, column) => [endpoint.name, statuses[column], endpoint] as const),
    )('%s answers %i', async (_endpoint, status, endpoint) => {
      const target = await endpoint.target();
      const before = await sideEffects(target?.id);
      const response = await endpoint.send(caller, await caller.authorization(), target);
      if (status < 400) {
        expect(response.status).toBe(status);
        await endpoint.check(caller, await response.json(), target);
        return;
      }
      await expectProblem(response, status, PROBLEM_TYPE[status]);
      if (status === 401) expect(response.headers.get('www-authenticate')).toBe('Bearer');
      const after = await sideEffects(target?.id);
      // A 404 is the caller's own request, kept under the caller's own idempotency key.
      expect(status === 404 ? { ...after, keys: before.keys } : after).toEqual(before);
    });
  });

  describe('objects of other customers', () => {
    const other = () => sign({ sub: OTHER, roles: ['customer'] }).then((t) => `Bearer ${t}`);

    it('shows another customer only their own orders after the owner’s cursor', async () => {
      await ownerOrder();
      const page = await send('jwks', 'GET', '?limit=1', await ownerAuthorization());
      const { nextCursor } = (await page.json()) as { nextCursor: string };
      expect(nextCursor).toEqual(expect.any(String));
      const response = await send(
        'jwks',
        'GET',
        `?limit=100&cursor=${encodeURIComponent(nextCursor)}`,
        await other(),
      );
      expect(response.status).toBe(200);
      const ids = ((await response.json()) as { data: OrderBody[] }).data.map((o) => o.id);
      const { rows } = await db.query(
        'SELECT 1 FROM orders WHERE id = ANY($1::uuid[]) AND customer_id <> $2',
        [ids, OTHER],
      );
      expect(rows).toEqual([]);
    });

    it('gives another customer reusing the owner’s idempotency key a new order of their own', async () => {
      const key = randomUUID();
      const first = await send('jwks', 'POST', '', await ownerAuthorization(), { body: cart, key });
      const owners = (await first.json()) as OrderBody;
      const reused = await send('jwks', 'POST', '', await other(), { body: cart, key });
      expect(reused.status).toBe(201);
      expect(reused.headers.get('idempotent-replayed')).toBeNull();
      const theirs = (await reused.json()) as OrderBody;
      expect(theirs.id).not.toBe(owners.id);
      expect(theirs.payment!.clientSecret).not.toBe(owners.payment!.clientSecret);
    });

    it('answers 404 to another customer reusing the owner’s cancel and refund keys, changing nothing', async () => {
      const order = await paidOrder();
      const cancelKey = randomUUID();
      const refundKey = randomUUID();
      const owner = await ownerAuthorization();
      const refund = await send('jwks', 'POST', `/${order.id}/refunds`, owner, {
        body: { amount: 100 },
        key: refundKey,
      });
      expect(refund.status).toBe(201);
      await send('jwks', 'POST', `/${order.id}/cancel`, owner, { key: cancelKey });
      const before = await sideEffects(order.id);
      await expectProblem(
        await send('jwks', 'POST', `/${order.id}/refunds`, await other(), {
          body: { amount: 100 },
          key: refundKey,
        }),
        404,
        '/problems/not-found',
      );
      await expectProblem(
        await send('jwks', 'POST', `/${order.id}/cancel`, await other(), { key: cancelKey }),
        404,
        '/problems/not-found',
      );
      expect({ ...(await sideEffects(order.id)), keys: before.keys }).toEqual(before);
    });
  });

  describe('two Authorization headers', () => {
    // Node keeps only the first; a proxy or WAF reading the other would see another customer.
    it.each(ENDPOINTS.map((endpoint) => [endpoint.name, endpoint] as const))(
      '%s answers 400 naming the header and changes nothing',
      async (_name, endpoint) => {
        const owner = CALLERS['the owner (RS256, key from the JWKS endpoint)'];
        const other = `Bearer ${await sign({ sub: OTHER, roles: customer })}`;
        const target = await endpoint.target();
        const before = await sideEffects(target?.id);
        const response = await endpoint.send(owner, [await ownerAuthorization(), other], target);
        const problem = await expectProblem(response, 400, '/problems/bad-request');
        expect(problem.errors).toEqual([
          { field: 'Authorization', message: 'must be sent only once' },
        ]);
        expect(await sideEffects(target?.id)).toEqual(before);
      },
    );

    it('answers 400 to the same valid token sent twice', async () => {
      const authorization = await ownerAuthorization();
      const response = await send('jwks', 'GET', '', [authorization, authorization]);
      await expectProblem(response, 400, '/problems/bad-request');
      expect((await send('jwks', 'GET', '', [authorization])).status).toBe(200);
    });
  });

  it('reads the key set once and serves later tokens from its cache', async () => {
    await send('jwks', 'GET', '', await ownerAuthorization());
    const fetched = jwksRequests;
    expect(fetched).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 3; i++) {
      expect((await send('jwks', 'GET', '', await ownerAuthorization())).status).toBe(200);
    }
    expect(jwksRequests).toBe(fetched);
  });
});
