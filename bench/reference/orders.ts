// The orders half of the benchmark's REFERENCE checkout: not product code. `POST /api/v1/orders`
// on raw node:http + pg + @grpc/grpc-js + jose, running the product's own SQL statements (start.ts
// hands them over from the product's repositories) in the product's order (idempotency key claimed
// locked, order + items + recovery point in one statement, CreatePayment over gRPC with the key
// and a service token, payment attached with its history row, key completed with the stored
// response; a repeated key replays that response), so the benchmark can show the product's
// checkout as a fraction of what this machine does with this design and no framework around it.
//
// Deliberately left out: NestJS, Fastify and TypeORM, telemetry of its own (no spans, metrics or
// logs in this code; start.ts can preload the services' SDK, whose instrumentations then trace its
// HTTP, gRPC and SQL as they trace the product's), rate limiting, retries and the circuit breaker,
// taking over an expired key lock and claiming an expired key afresh (a key still in flight
// answers 409), resuming an order after a failed payment call (the key is released, the order
// stays `pending_payment`), problem+json details, security headers, CORS, graceful drain, config
// validation, every other route. Validation is the minimum that keeps bad input out of the SQL.
import { createHash, createPublicKey, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { jwtVerify } from 'jose';
import pg from 'pg';
import type { OrdersStatements } from './start.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));
const PATH = '/api/v1/orders';
const MAX_BODY_BYTES = 64 * 1024;
// The product's defaults (IDEMPOTENCY_LOCK_TIMEOUT_MS, IDEMPOTENCY_RETENTION_HOURS,
// PAYMENTS_GRPC_TIMEOUT_MS).
const LOCK_MS = 30_000;
const RETENTION_HOURS = 24;
const GRPC_DEADLINE_MS = 3_000;

const publicKey = createPublicKey(env('REF_JWT_PUBLIC_KEY'));
const verifyOptions = {
  algorithms: ['ES256'],
  issuer: env('REF_JWT_ISSUER'),
  audience: env('REF_JWT_AUDIENCE'),
  requiredClaims: ['sub', 'exp'],
};
const paymentsToken = env('REF_PAYMENTS_TOKEN');
const pool = new pg.Pool({ connectionString: env('REF_DATABASE_URL'), max: 10 });
// The product's statements (IdempotencyRepository's and OrdersRepository's), from start.ts.
const sql = JSON.parse(env('REF_STATEMENTS')) as OrdersStatements;

const definition = loadSync(`${PROTO_DIR}payments/v1/payments.proto`, {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
});
const { PaymentService } = (
  grpc.loadPackageDefinition(definition) as unknown as {
    payments: { v1: { PaymentService: grpc.ServiceClientConstructor } };
  }
).payments.v1;
const payments = new PaymentService(
  env('REF_PAYMENTS_GRPC_URL'),
  grpc.credentials.createInsecure(),
) as unknown as grpc.Client & {
  createPayment(
    request: unknown,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: { payment: PaymentMessage }) => void,
  ): void;
};

interface PaymentMessage {
  id: string;
  status: string;
  clientSecret: string;
  version: string;
}

interface Item {
  sku: string;
  name: string;
  quantity: number;
  unitAmount: number;
}

interface Stored {
  status: number;
  headers: Record<string, string>;
  body: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Sorted keys at every level: the product's fingerprint of "the same request". */
const canonicalJson = (value: unknown) =>
  JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(
          Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : inner,
  );

const isInt = (value: unknown, min: number, max: number): value is number =>
  Number.isInteger(value) && (value as number) >= min && (value as number) <= max;

function parseOrder(body: unknown): { currency: string; items: Item[] } {
  const { currency, items } = (body ?? {}) as { currency?: unknown; items?: unknown };
  const valid =
    typeof currency === 'string' &&
    /^[a-zA-Z]{3}$/.test(currency) &&
    Array.isArray(items) &&
    items.length >= 1 &&
    items.length <= 100 &&
    items.every(
      (item: Partial<Item> | null) =>
        typeof item?.sku === 'string' &&
        /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/.test(item.sku) &&
        typeof item.name === 'string' &&
        item.name.length >= 1 &&
        item.name.length <= 200 &&
        isInt(item.quantity, 1, 1000) &&
        isInt(item.unitAmount, 1, 1_000_000_000),
    );
  if (!valid) throw new HttpError(400, 'invalid order');
  return { currency: currency.toLowerCase(), items: items as Item[] };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new HttpError(413, 'body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function createPayment(request: unknown, key: string): Promise<PaymentMessage> {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${paymentsToken}`);
  metadata.set('idempotency-key', key);
  return new Promise((resolve, reject) =>
    payments.createPayment(
      request,
      metadata,
      { deadline: Date.now() + GRPC_DEADLINE_MS },
      (error, response) =>
        error || !response?.payment
          ? reject(error ?? new Error('no payment'))
          : resolve(response.payment),
    ),
  );
}

async function checkout(customerId: string, key: string, rawBody: string): Promise<Stored> {
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    throw new HttpError(400, 'malformed JSON');
  }
  const input = parseOrder(body);
  const fingerprint = createHash('sha256')
    .update(`POST ${PATH}\n${canonicalJson(body)}`)
    .digest('base64url');

  // (1) IdempotencyRepository.insertOrFind: the key claimed locked, or else read as it stands.
  const {
    rows: [record],
  } = await pool.query<{
    inserted: boolean;
    fingerprint: string;
    state: string;
    response_status: number;
    response_headers: Record<string, string>;
    response_body: string;
  }>({
    ...sql.insertOrFind,
    values: [customerId, key, fingerprint, LOCK_MS, RETENTION_HOURS],
  });
  if (!record?.inserted) {
    if (record && record.fingerprint !== fingerprint) throw new HttpError(422, 'key reused');
    if (record?.state !== 'completed') throw new HttpError(409, 'key in use');
    return {
      status: record.response_status,
      headers: { ...record.response_headers, 'idempotent-replayed': 'true' },
      body: record.response_body,
    };
  }

  try {
    const id = randomUUID();
    const createdAt = new Date();
    const amount = input.items.reduce((sum, item) => sum + item.quantity * item.unitAmount, 0);
    // (2) OrdersRepository.insert: order, items and the key's recovery point in one statement.
    await pool.query({
      ...sql.insertOrder,
      values: [
        id,
        customerId,
        'pending_payment',
        input.currency,
        amount,
        createdAt,
        createdAt,
        input.items.map((_, position) => position),
        input.items.map((item) => item.sku),
        input.items.map((item) => item.name),
        input.items.map((item) => item.quantity),
        input.items.map((item) => item.unitAmount),
        customerId,
        key,
      ],
    });
    // (3) PaymentService/CreatePayment
    const payment = await createPayment(
      { orderId: id, customerId, amount: { amount: String(amount), currency: input.currency } },
      `order-${id}-create-payment`,
    );
    const paymentStatus = payment.status.replace(/^PAYMENT_STATUS_/, '').toLowerCase();
    const updatedAt = new Date();
    // (4) OrdersRepository.attachPayment
    const attached = await pool.query({
      ...sql.attachPayment,
      values: [
        id,
        payment.id,
        paymentStatus,
        payment.clientSecret,
        payment.version,
        updatedAt,
        'customer',
      ],
    });
    if (attached.rowCount !== 1) throw new Error(`order ${id} did not take its payment`);
    const response: Stored = {
      status: 201,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        location: `${PATH}/${id}`,
      },
      body: JSON.stringify({
        id,
        status: 'awaiting_payment',
        currency: input.currency,
        amount,
        amountRefunded: 0,
        items: input.items.map(({ sku, name, quantity, unitAmount }) => ({
          sku,
          name,
          quantity,
          unitAmount,
        })),
        payment: { id: payment.id, status: paymentStatus, clientSecret: payment.clientSecret },
        createdAt: createdAt.toISOString(),
        updatedAt: updatedAt.toISOString(),
      }),
    };
    // (5) IdempotencyRepository.complete
    await pool.query({
      ...sql.complete,
      values: [customerId, key, response.status, response.headers, response.body],
    });
    return response;
  } catch (error) {
    // IdempotencyRepository.release: a retry may use the key again.
    await pool.query({ ...sql.forgetUnused, values: [customerId, key] });
    await pool.query({ ...sql.unlock, values: [customerId, key] });
    throw error;
  }
}

async function handle(req: IncomingMessage): Promise<Stored> {
  if (req.url === '/health') return { status: 200, headers: {}, body: '' };
  if (req.method !== 'POST' || req.url !== PATH) throw new HttpError(404, 'not found');
  const token = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(req.headers.authorization ?? '')?.[1];
  let customerId: string;
  try {
    const { payload } = await jwtVerify(token ?? '', publicKey, verifyOptions);
    const roles = payload.roles;
    if (!payload.sub || !/^[\x21-\x7e]{1,255}$/.test(payload.sub)) throw new Error('subject');
    if (!(Array.isArray(roles) ? roles : String(roles).split(' ')).includes('customer')) {
      throw new HttpError(403, 'customers only');
    }
    customerId = payload.sub;
  } catch (error) {
    throw error instanceof HttpError ? error : new HttpError(401, 'unauthenticated');
  }
  const key = req.headers['idempotency-key'];
  if (typeof key !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new HttpError(400, 'Idempotency-Key required');
  }
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    throw new HttpError(415, 'JSON only');
  }
  return checkout(customerId, key, await readBody(req));
}

const server = createServer((req, res) => {
  handle(req).then(
    ({ status, headers, body }) => res.writeHead(status, headers).end(body),
    (error: unknown) => {
      const status = error instanceof HttpError ? error.status : 503;
      res
        .writeHead(status, { 'content-type': 'application/problem+json' })
        .end(JSON.stringify({ status, title: (error as Error).message }));
    },
  );
});

server.listen(Number(env('REF_HTTP_PORT')), '127.0.0.1', () => process.send?.('ready'));

process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  payments.close();
  void pool.end().then(() => process.exit(0));
});
