import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { MAX_JSON_DEPTH } from '#common/http/json-structure.js';
import type { ProblemBody } from './support/http.js';
import { deliver, event, paymentIntent, signed } from './support/stripe-events.js';
import { Stack, tokenFor } from './support/stack.js';

const INTERNAL_API_KEY = 'internal-key-for-bad-input-tests-0123456789';

type Service = 'orders' | 'payments';

interface BadRequest {
  service: Service;
  method: 'GET' | 'POST';
  path: string;
  /** JSON.stringify'd unless `raw` is given. */
  json?: unknown;
  raw?: string | Uint8Array;
  /** Replaces the default content type (application/json when there is a body); null: none. */
  contentType?: string | null;
  /** Authorization (orders' API) and X-Api-Key (the internal webhook) unless false. */
  auth?: boolean;
  headers?: Record<string, string>;
  status: number;
}

const ORDERS = '/api/v1/orders';
const PUSH = '/api/v1/webhooks/payment-updates';
const STRIPE = '/webhooks/stripe';
/** Well formed and fresh, so payments reads the body; the signature itself is wrong. */
const forgedSignature = () => ({
  'stripe-signature': `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`,
});

const line = { sku: 'SKU-1', name: 'T-shirt', quantity: 1, unitAmount: 1500 };
const order = (item: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  currency: 'usd',
  items: [{ ...line, ...item }],
  ...extra,
});
const update = (fields: Record<string, unknown> = {}) => ({
  orderId: randomUUID(),
  paymentId: randomUUID(),
  paymentStatus: 'succeeded',
  paymentVersion: 1,
  ...fields,
});
const rawOrder = (item: string) =>
  `{"currency":"usd","items":[{"sku":"SKU-1","name":"T-shirt","quantity":1,${item}}]}`;
const deepArrays = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const deepObjects = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
const someOrder = `${ORDERS}/${randomUUID()}`;

const cases: [string, BadRequest][] = [
  // POST /api/v1/orders: types, numbers, text, sizes, structure, media types, headers
  [
    'order: quantity as a string',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: order({ quantity: '1' }),
      status: 422,
    },
  ],
  [
    'order: zero quantity',
    { service: 'orders', method: 'POST', path: ORDERS, json: order({ quantity: 0 }), status: 422 },
  ],
  [
    'order: negative quantity',
    { service: 'orders', method: 'POST', path: ORDERS, json: order({ quantity: -3 }), status: 422 },
  ],
  [
    'order: fractional quantity',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: order({ quantity: 1.5 }),
      status: 422,
    },
  ],
  [
    'order: unit amount 1e309 (Infinity)',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      raw: rawOrder('"unitAmount":1e309'),
      status: 422,
    },
  ],
  [
    'order: unit amount 2^53+1',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      raw: rawOrder('"unitAmount":9007199254740993'),
      status: 422,
    },
  ],
  [
    'order: fraction of a minor unit',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: order({ unitAmount: 1499.5 }),
      status: 422,
    },
  ],
  [
    'order: negative unit amount',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: order({ unitAmount: -1500 }),
      status: 422,
    },
  ],
  [
    'order: total beyond the currency maximum',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: order({ quantity: 2, unitAmount: 99_999_999 }),
      status: 422,
    },
  ],
  [
    'order: unsupported currency',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: order({}, { currency: 'xxx' }),
      status: 422,
    },
  ],
  [
    'order: currency with a NUL',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: order({}, { currency: 'us\u0000d' }),
      status: 422,
    },
  ],
  [
    'order: currency as a number',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: order({}, { currency: 840 }),
      status: 422,
    },
  ],
  [
    'order: right-to-left override in a name',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: order({ name: 'Shirt\u202Etxt.exe' }),
      status: 422,
    },
  ],
  [
    'order: zero-width space in a name',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: order({ name: 'T\u200Bshirt' }),
      status: 422,
    },
  ],
  [
    'order: NUL in a name',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: order({ name: 'T-shirt\u0000' }),
      status: 422,
    },
  ],
  [
    'order: lone surrogate in a name',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      raw: rawOrder('"unitAmount":1500,"name":"\\ud800"').replace('"name":"T-shirt",', ''),
      status: 422,
    },
  ],
  [
    'order: C1 control in a sku',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: order({ sku: 'SKU\u0085' }),
      status: 422,
    },
  ],
  [
    'order: a client-sent total',
    { service: 'orders', method: 'POST', path: ORDERS, json: order({}, { total: 1 }), status: 422 },
  ],
  [
    'order: items as an object',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: { currency: 'usd', items: line },
      status: 422,
    },
  ],
  [
    'order: a JSON array as the body',
    { service: 'orders', method: 'POST', path: ORDERS, json: [order({})], status: 422 },
  ],
  [
    'order: JSON null as the body',
    { service: 'orders', method: 'POST', path: ORDERS, raw: 'null', status: 422 },
  ],
  [
    'order: 101 items',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: { currency: 'usd', items: Array.from({ length: 101 }, () => line) },
      status: 422,
    },
  ],
  [
    'order: 10,000 empty items (under the body limit)',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: { currency: 'usd', items: Array.from({ length: 10_000 }, () => ({})) },
      status: 422,
    },
  ],
  [
    'order: 10,000 items (over the body limit)',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: { currency: 'usd', items: Array.from({ length: 10_000 }, () => line) },
      status: 413,
    },
  ],
  [
    'order: a 100 KB name',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: order({ name: 'x'.repeat(100_000) }),
      status: 413,
    },
  ],
  [
    'order: duplicate top-level key',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      raw: '{"currency":"usd","currency":"jpy","items":[]}',
      status: 400,
    },
  ],
  [
    'order: duplicate key inside an item',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      raw: rawOrder('"unitAmount":1500,"unitAmount":1'),
      status: 400,
    },
  ],
  [
    'order: duplicate key spelled with an escape',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      raw: '{"currency":"usd","\\u0063urrency":"eur","items":[]}',
      status: 400,
    },
  ],
  [
    'order: truncated JSON',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      raw: '{"currency":"usd","items":[{"sku":"SKU-1"',
      status: 400,
    },
  ],
  [
    'order: 30,000 nested arrays',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      raw: `{"currency":"usd","items":${deepArrays(30_000)}}`,
      status: 400,
    },
  ],
  [
    'order: nested objects one level too deep',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      raw: deepObjects(MAX_JSON_DEPTH + 1),
      status: 400,
    },
  ],
  [
    'order: prototype pollution',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      raw: '{"currency":"usd","__proto__":{"admin":true},"items":[]}',
      status: 400,
    },
  ],
  [
    'order: an empty JSON body',
    { service: 'orders', method: 'POST', path: ORDERS, raw: '', status: 400 },
  ],
  [
    'order: text/plain',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: order({}),
      contentType: 'text/plain',
      status: 415,
    },
  ],
  [
    // JSON is UTF-8 only (RFC 8259): another declared charset is not guessed at.
    'order: JSON declared as UTF-7',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: order({}),
      contentType: 'application/json; charset=utf-7',
      status: 415,
    },
  ],
  [
    'order: JSON declared as Latin-1, quoted',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: order({}),
      contentType: 'application/json; charset="ISO-8859-1"',
      status: 415,
    },
  ],
  [
    'order: a form',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      raw: 'currency=usd',
      contentType: 'application/x-www-form-urlencoded',
      status: 415,
    },
  ],
  [
    'order: no content type',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      raw: new TextEncoder().encode(JSON.stringify(order({}))),
      contentType: null,
      status: 415,
    },
  ],
  [
    'order: no Idempotency-Key',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: order({}),
      headers: { 'idempotency-key': '' },
      status: 400,
    },
  ],
  [
    'order: a 300-character Idempotency-Key',
    {
      service: 'orders',
      method: 'POST',
      path: ORDERS,
      json: order({}),
      headers: { 'idempotency-key': 'k'.repeat(300) },
      status: 400,
    },
  ],
  [
    'order: no token',
    { service: 'orders', method: 'POST', path: ORDERS, json: order({}), auth: false, status: 401 },
  ],

  // GET /api/v1/orders: page size and cursor
  [
    'list: negative limit',
    { service: 'orders', method: 'GET', path: `${ORDERS}?limit=-1`, status: 422 },
  ],
  [
    'list: limit 1e309',
    { service: 'orders', method: 'GET', path: `${ORDERS}?limit=1e309`, status: 422 },
  ],
  [
    'list: limit twice',
    { service: 'orders', method: 'GET', path: `${ORDERS}?limit=1&limit=2`, status: 422 },
  ],
  [
    'list: a cursor that is not one',
    { service: 'orders', method: 'GET', path: `${ORDERS}?cursor=not-a-cursor`, status: 422 },
  ],
  [
    'list: a 300-character cursor',
    { service: 'orders', method: 'GET', path: `${ORDERS}?cursor=${'A'.repeat(300)}`, status: 422 },
  ],
  [
    'list: an unknown parameter',
    { service: 'orders', method: 'GET', path: `${ORDERS}?admin=true`, status: 422 },
  ],

  // GET /api/v1/orders/:id: ids
  [
    'get: an id that is not a UUID',
    { service: 'orders', method: 'GET', path: `${ORDERS}/not-a-uuid`, status: 404 },
  ],
  [
    'get: an id with a NUL',
    { service: 'orders', method: 'GET', path: `${ORDERS}/%00`, status: 404 },
  ],
  [
    'get: a malformed percent-encoding',
    { service: 'orders', method: 'GET', path: `${ORDERS}/%E0%A4%A`, status: 400 },
  ],
  [
    'get: a 500-character id',
    { service: 'orders', method: 'GET', path: `${ORDERS}/${'a'.repeat(500)}`, status: 400 },
  ],

  // POST /api/v1/orders/:id/cancel
  [
    'cancel: an unknown field',
    {
      service: 'orders',
      method: 'POST',
      path: `${someOrder}/cancel`,
      json: { reason: 'x' },
      status: 422,
    },
  ],
  [
    'cancel: a JSON array',
    { service: 'orders', method: 'POST', path: `${someOrder}/cancel`, json: [], status: 422 },
  ],
  [
    'cancel: duplicate keys',
    {
      service: 'orders',
      method: 'POST',
      path: `${someOrder}/cancel`,
      raw: '{"a":1,"a":2}',
      status: 400,
    },
  ],
  [
    'cancel: text/plain',
    {
      service: 'orders',
      method: 'POST',
      path: `${someOrder}/cancel`,
      raw: 'cancel',
      contentType: 'text/plain',
      status: 415,
    },
  ],
  [
    'cancel: a malformed percent-encoding in the id',
    { service: 'orders', method: 'POST', path: `${ORDERS}/%E0%A4%A/cancel`, json: {}, status: 400 },
  ],

  // POST /api/v1/orders/:id/refunds
  [
    'refund: negative amount',
    {
      service: 'orders',
      method: 'POST',
      path: `${someOrder}/refunds`,
      json: { amount: -5 },
      status: 422,
    },
  ],
  [
    'refund: zero amount',
    {
      service: 'orders',
      method: 'POST',
      path: `${someOrder}/refunds`,
      json: { amount: 0 },
      status: 422,
    },
  ],
  [
    'refund: fraction of a minor unit',
    {
      service: 'orders',
      method: 'POST',
      path: `${someOrder}/refunds`,
      json: { amount: 0.5 },
      status: 422,
    },
  ],
  [
    'refund: amount 1e309',
    {
      service: 'orders',
      method: 'POST',
      path: `${someOrder}/refunds`,
      raw: '{"amount":1e309}',
      status: 422,
    },
  ],
  [
    'refund: amount beyond any charge',
    {
      service: 'orders',
      method: 'POST',
      path: `${someOrder}/refunds`,
      json: { amount: 10 ** 12 },
      status: 422,
    },
  ],
  [
    'refund: amount as a string',
    {
      service: 'orders',
      method: 'POST',
      path: `${someOrder}/refunds`,
      json: { amount: '100' },
      status: 422,
    },
  ],
  [
    'refund: reason with a bidi isolate',
    {
      service: 'orders',
      method: 'POST',
      path: `${someOrder}/refunds`,
      json: { reason: 'duplicate\u2066' },
      status: 422,
    },
  ],
  [
    'refund: duplicate amount keys',
    {
      service: 'orders',
      method: 'POST',
      path: `${someOrder}/refunds`,
      raw: '{"amount":1,"amount":100000}',
      status: 400,
    },
  ],

  // POST /api/v1/webhooks/payment-updates (internal)
  [
    'push: order id that is not a UUID',
    {
      service: 'orders',
      method: 'POST',
      path: PUSH,
      json: update({ orderId: '1 OR 1=1' }),
      status: 422,
    },
  ],
  [
    'push: version zero',
    {
      service: 'orders',
      method: 'POST',
      path: PUSH,
      json: update({ paymentVersion: 0 }),
      status: 422,
    },
  ],
  [
    'push: version 2^53+1',
    {
      service: 'orders',
      method: 'POST',
      path: PUSH,
      raw: JSON.stringify(update()).replace(
        '"paymentVersion":1',
        '"paymentVersion":9007199254740993',
      ),
      status: 422,
    },
  ],
  [
    'push: negative refunded amount',
    {
      service: 'orders',
      method: 'POST',
      path: PUSH,
      json: update({ amountRefunded: -1 }),
      status: 422,
    },
  ],
  [
    'push: refunded amount beyond any charge',
    {
      service: 'orders',
      method: 'POST',
      path: PUSH,
      json: update({ amountRefunded: 10 ** 15 }),
      status: 422,
    },
  ],
  [
    'push: NUL in the failure code',
    {
      service: 'orders',
      method: 'POST',
      path: PUSH,
      json: update({ failureCode: 'card\u0000declined' }),
      status: 422,
    },
  ],
  [
    'push: unknown status',
    {
      service: 'orders',
      method: 'POST',
      path: PUSH,
      json: update({ paymentStatus: 'paid' }),
      status: 422,
    },
  ],
  [
    'push: duplicate status keys',
    {
      service: 'orders',
      method: 'POST',
      path: PUSH,
      raw: JSON.stringify(update()).replace('{', '{"paymentStatus":"canceled",'),
      status: 400,
    },
  ],
  [
    'push: deep nesting',
    { service: 'orders', method: 'POST', path: PUSH, raw: deepArrays(20_000), status: 400 },
  ],
  [
    'push: a form',
    {
      service: 'orders',
      method: 'POST',
      path: PUSH,
      raw: 'orderId=1',
      contentType: 'application/x-www-form-urlencoded',
      status: 415,
    },
  ],
  [
    'push: no X-Api-Key',
    { service: 'orders', method: 'POST', path: PUSH, json: update(), auth: false, status: 401 },
  ],

  // POST /webhooks/stripe (payments)
  [
    'stripe: truncated JSON',
    {
      service: 'payments',
      method: 'POST',
      path: STRIPE,
      raw: '{"id":"evt_1","type":"payment_intent.succeeded"',
      status: 400,
    },
  ],
  [
    'stripe: no signature',
    {
      service: 'payments',
      method: 'POST',
      path: STRIPE,
      json: { id: 'evt_1', type: 'payment_intent.succeeded' },
      status: 400,
    },
  ],
  [
    'stripe: a forged signature',
    {
      service: 'payments',
      method: 'POST',
      path: STRIPE,
      json: { id: 'evt_1' },
      headers: { 'stripe-signature': 't=1,v1=00' },
      status: 400,
    },
  ],
  [
    // Nothing of an unverified body is parsed: whatever it holds, the signature decides.
    'stripe: duplicate keys, unsigned',
    {
      service: 'payments',
      method: 'POST',
      path: STRIPE,
      raw: '{"id":"evt_1","id":"evt_2"}',
      headers: forgedSignature(),
      status: 400,
    },
  ],
  [
    'stripe: deep nesting, unsigned',
    {
      service: 'payments',
      method: 'POST',
      path: STRIPE,
      raw: deepObjects(5000),
      headers: forgedSignature(),
      status: 400,
    },
  ],
  [
    'stripe: text/plain',
    {
      service: 'payments',
      method: 'POST',
      path: STRIPE,
      raw: '{}',
      contentType: 'text/plain',
      headers: forgedSignature(),
      status: 415,
    },
  ],
  [
    'stripe: over 256 KB',
    {
      service: 'payments',
      method: 'POST',
      path: STRIPE,
      json: { id: 'evt_1', pad: 'x'.repeat(256 * 1024) },
      headers: forgedSignature(),
      status: 413,
    },
  ],
];

describe('malformed requests (end to end)', () => {
  let stack: Stack;
  let token: string;
  let databases: pg.Client[];
  let baseline: Record<string, number>;

  /** Rows of every table of both databases, found in the catalog so new tables count too. */
  async function rowCounts(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const [index, db] of databases.entries()) {
      const tables = await db.query<{ name: string }>(
        `SELECT quote_ident(table_name) AS name FROM information_schema.tables
          WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
      );
      for (const { name } of tables.rows) {
        const result = await db.query<{ count: string }>(`SELECT count(*) FROM ${name}`);
        counts[`${index === 0 ? 'orders' : 'payments'}.${name}`] = Number(result.rows[0].count);
      }
    }
    return counts;
  }

  beforeAll(async () => {
    stack = await Stack.start({ webhooks: true, orders: { INTERNAL_API_KEY } });
    token = await tokenFor('cus_bad_input');
    databases = [new pg.Client(stack.ordersDb.url), new pg.Client(stack.paymentsDb.url)];
    await Promise.all(databases.map((db) => db.connect()));
    baseline = await rowCounts();
  });

  afterAll(async () => {
    await Promise.all((databases ?? []).map((db) => db.end()));
    await stack?.stop();
  });

  it('has enough cases, each named once', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(cases.map(([name]) => name)).size).toBe(cases.length);
  });

  it('counts the tables of both databases', () => {
    expect(Object.keys(baseline)).toEqual(
      expect.arrayContaining(['orders.orders', 'orders.idempotency_keys', 'payments.payments']),
    );
  });

  it.each(cases)('answers %s with a 4xx problem and changes nothing', async (_name, bad) => {
    const headers: Record<string, string> = {};
    if (bad.auth !== false) {
      if (bad.path.startsWith(PUSH)) headers['x-api-key'] = INTERNAL_API_KEY;
      else if (bad.service === 'orders') headers.authorization = `Bearer ${token}`;
    }
    if (bad.method === 'POST') {
      headers[bad.path.startsWith(PUSH) ? 'x-idempotency-key' : 'idempotency-key'] = randomUUID();
    }
    const body = bad.raw ?? (bad.json === undefined ? undefined : JSON.stringify(bad.json));
    if (body !== undefined && bad.contentType !== null) {
      headers['content-type'] = bad.contentType ?? 'application/json';
    }
    for (const [name, value] of Object.entries(bad.headers ?? {})) {
      if (value === '') delete headers[name];
      else headers[name] = value;
    }
    const base = bad.service === 'orders' ? stack.ordersUrl : stack.paymentsUrl;

    const response = await fetch(`${base}${bad.path}`, { method: bad.method, headers, body });

    expect(response.status).toBe(bad.status);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await response.json()) as ProblemBody;
    expect(problem).toMatchObject({
      type: expect.stringMatching(/^\/problems\/[a-z-]+$/),
      title: expect.any(String),
      status: bad.status,
      detail: expect.any(String),
    });
    expect(await rowCounts()).toEqual(baseline);
  });

  it('still accepts a real, correctly signed Stripe event after all of that', async () => {
    // The Stripe cases above would pass vacuously if the parser refused every event.
    const delivery = signed(event('payment_intent.succeeded', paymentIntent({ id: 'pi_unknown' })));
    const response = await deliver(stack.paymentsUrl, delivery);
    expect(response.status).toBe(200);
  });
});
