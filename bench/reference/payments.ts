// The payments half of the benchmark's REFERENCE checkout: not product code. It implements
// payments.v1.PaymentService/CreatePayment from proto/ on raw @grpc/grpc-js + pg + node:http, with
// the product's own statements (PaymentsRepository's insert and recordIntent, handed over by
// start.ts) and the product's Stripe call (POST /v1/payment_intents as the stripe SDK sends it), so
// the benchmark can show what this machine does with this design and no framework around it. The
// reads after a lost race, which the product leaves to TypeORM, are written here.
//
// Deliberately left out: NestJS and TypeORM, telemetry of its own (start.ts can preload the
// services' SDK, see orders.ts), TLS, the other PaymentService methods (UNIMPLEMENTED), gRPC
// health, webhooks and the outbox, Stripe error mapping, retries and timeouts beyond one deadline,
// graceful drain, config validation. Validation is the minimum that keeps bad input out of the SQL.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import pg from 'pg';
import type { PaymentsStatements } from './start.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));
const STRIPE_URL = new URL(env('REF_STRIPE_URL'));
const STRIPE_KEY = env('REF_STRIPE_SECRET_KEY');
// The API version the stripe SDK (23) pins and sends.
const STRIPE_VERSION = '2026-10-28.endive';
const tokenDigest = (token: string) => createHash('sha256').update(token).digest();
const INBOUND_TOKEN = tokenDigest(env('REF_INBOUND_TOKEN'));

const pool = new pg.Pool({ connectionString: env('REF_DATABASE_URL'), max: 10 });
// The product's statements (PaymentsRepository's), from start.ts.
const sql = JSON.parse(env('REF_STATEMENTS')) as PaymentsStatements;
// The SDK keeps its connections to Stripe alive too.
const stripeAgent = new Agent({ keepAlive: true });

interface PaymentRow {
  id: string;
  order_id: string;
  customer_id: string;
  amount: string;
  currency: string;
  status: string;
  provider_payment_id: string | null;
  client_secret: string | null;
  version: string;
  amount_refunded: string;
  failure_code: string | null;
  failure_message: string | null;
  receipt_url: string | null;
  disputed: boolean;
  create_idempotency_key: string | null;
  created_at: Date;
  updated_at: Date;
}

interface CreatePaymentRequest {
  orderId: string;
  customerId: string;
  amount?: { amount: string; currency: string };
}

class CallError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

const timestamp = (date: Date) => {
  const millis = date.getTime();
  const seconds = Math.floor(millis / 1000);
  return { seconds: String(seconds), nanos: (millis - seconds * 1000) * 1_000_000 };
};

function toMessage(row: PaymentRow) {
  return {
    id: row.id,
    orderId: row.order_id,
    customerId: row.customer_id,
    status:
      row.status === 'creating'
        ? 'PAYMENT_STATUS_UNSPECIFIED'
        : `PAYMENT_STATUS_${row.status.toUpperCase()}`,
    amount: { amount: String(row.amount), currency: row.currency },
    clientSecret: row.client_secret ?? '',
    providerPaymentId: row.provider_payment_id ?? '',
    createTime: timestamp(row.created_at),
    updateTime: timestamp(row.updated_at),
    amountRefunded: String(row.amount_refunded),
    failureCode: row.failure_code ?? '',
    failureMessage: row.failure_message ?? '',
    receiptUrl: row.receipt_url ?? '',
    disputed: row.disputed,
    version: String(row.version),
  };
}

/** POST /v1/payment_intents, form-encoded with the headers the stripe SDK sends. */
function createPaymentIntent(
  form: Record<string, string>,
  idempotencyKey: string,
): Promise<{ id: string; status: string; client_secret: string }> {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent: stripeAgent,
        host: STRIPE_URL.hostname,
        port: STRIPE_URL.port,
        method: 'POST',
        path: '/v1/payment_intents',
        timeout: 8_000,
        headers: {
          authorization: `Bearer ${STRIPE_KEY}`,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          'idempotency-key': idempotencyKey,
          'stripe-version': STRIPE_VERSION,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            reject(new CallError(grpc.status.UNAVAILABLE, `Stripe answered ${res.statusCode}`));
          } else {
            resolve(JSON.parse(text) as { id: string; status: string; client_secret: string });
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new CallError(grpc.status.UNAVAILABLE, 'Stripe timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

async function createPayment(
  request: CreatePaymentRequest,
  metadata: grpc.Metadata,
): Promise<PaymentRow> {
  const [token] = metadata.get('authorization');
  const presented = typeof token === 'string' ? /^Bearer (\S+)$/.exec(token)?.[1] : undefined;
  if (!presented || !timingSafeEqual(tokenDigest(presented), INBOUND_TOKEN)) {
    throw new CallError(grpc.status.UNAUTHENTICATED, 'missing or invalid service credential');
  }
  const [key] = metadata.get('idempotency-key');
  const { orderId, customerId, amount } = request;
  if (
    typeof key !== 'string' ||
    !/^[\x21-\x7e]{1,255}$/.test(key) ||
    !/^[0-9a-f-]{36}$/.test(orderId) ||
    !/^[\x21-\x7e]{1,255}$/.test(customerId) ||
    !amount ||
    !/^[1-9]\d{0,14}$/.test(amount.amount) ||
    !/^[a-z]{3}$/.test(amount.currency)
  ) {
    throw new CallError(grpc.status.INVALID_ARGUMENT, 'invalid CreatePayment request');
  }

  // PaymentsRepository.insertOrGetExisting: the insert, then a read when a constraint refused it.
  const now = new Date();
  const candidate: PaymentRow = {
    id: randomUUID(),
    order_id: orderId,
    customer_id: customerId,
    amount: amount.amount,
    currency: amount.currency,
    status: 'creating',
    provider_payment_id: null,
    client_secret: null,
    version: '1',
    amount_refunded: '0',
    failure_code: null,
    failure_message: null,
    receipt_url: null,
    disputed: false,
    create_idempotency_key: key,
    created_at: now,
    updated_at: now,
  };
  const inserted = await pool.query({
    ...sql.insertPayment,
    values: [
      candidate.id,
      orderId,
      customerId,
      amount.amount,
      amount.currency,
      candidate.status,
      candidate.provider_payment_id,
      candidate.client_secret,
      candidate.version,
      candidate.amount_refunded,
      candidate.failure_code,
      candidate.failure_message,
      null, // latest_charge_id
      candidate.receipt_url,
      candidate.disputed,
      null, // stripe_status_at
      null, // checkout_traceparent
      key,
      now,
      now,
    ],
  });
  let payment: PaymentRow | undefined = candidate;
  if (inserted.rowCount !== 1) {
    const existing = await pool.query<PaymentRow>(
      'SELECT * FROM "payments" WHERE "order_id" = $1 OR "create_idempotency_key" = $2',
      [orderId, key],
    );
    payment = existing.rows.find((row) => row.order_id === orderId);
    if (!payment || existing.rows.length > 1) {
      throw new CallError(grpc.status.ALREADY_EXISTS, 'key already used for another order');
    }
    if (
      payment.amount !== amount.amount ||
      payment.currency !== amount.currency ||
      payment.customer_id !== customerId
    ) {
      throw new CallError(grpc.status.FAILED_PRECONDITION, 'order already has another payment');
    }
    if (payment.provider_payment_id) return payment;
  }

  const intent = await createPaymentIntent(
    {
      amount: amount.amount,
      currency: amount.currency,
      'metadata[order_id]': orderId,
      'metadata[payment_id]': payment.id,
      'metadata[customer_id]': customerId,
      'automatic_payment_methods[enabled]': 'true',
    },
    `payment-${payment.id}-create-intent`,
  );
  // PaymentsRepository.recordIntent: the update, then a read when it lost a race.
  const updatedAt = new Date();
  const recorded = await pool.query({
    ...sql.recordIntent,
    values: [payment.id, intent.id, intent.client_secret, intent.status, updatedAt],
  });
  if (recorded.rowCount === 1) {
    return {
      ...payment,
      provider_payment_id: intent.id,
      client_secret: intent.client_secret,
      status: intent.status,
      updated_at: updatedAt,
    };
  }
  const current = await pool.query<PaymentRow>('SELECT * FROM "payments" WHERE "id" = $1', [
    payment.id,
  ]);
  return current.rows[0];
}

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

const server = new grpc.Server();
// Methods not given here answer UNIMPLEMENTED.
server.addService(PaymentService.service, {
  createPayment: (
    call: grpc.ServerUnaryCall<CreatePaymentRequest, unknown>,
    callback: grpc.sendUnaryData<unknown>,
  ) => {
    createPayment(call.request, call.metadata).then(
      (payment) => callback(null, { payment: toMessage(payment) }),
      (error: unknown) =>
        callback({
          code: error instanceof CallError ? error.code : grpc.status.INTERNAL,
          details: (error as Error).message,
        }),
    );
  },
});

server.bindAsync(
  `127.0.0.1:${env('REF_GRPC_PORT')}`,
  grpc.ServerCredentials.createInsecure(),
  (error) => {
    if (error) throw error;
    process.send?.('ready');
  },
);

process.once('SIGTERM', () => {
  server.tryShutdown(() => {
    stripeAgent.destroy();
    void pool.end().then(() => process.exit(0));
  });
});
