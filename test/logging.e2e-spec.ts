import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DEV_GRPC_TOKENS,
  DEV_JWT_SECRET,
  DEV_WEBHOOK_SECRET,
  STAND_IN_STRIPE_KEY,
} from '#common/config/defaults.js';
import { grpcClient, grpcError } from './support/grpc.js';
import type { OrderBody } from './support/http.js';
import type { OtlpReceiver } from './support/otlp-receiver.js';
import { ProcessStack } from './support/process-stack.js';
import type { ServiceProcess } from './support/service-process.js';
import { tokenFor } from './support/stack.js';
import { event, paymentIntent, signed } from './support/stripe-events.js';
import { waitFor } from './support/wait.js';

/** One line of a service's output, as JSON. */
type LogLine = Record<string, unknown> & { level: string; msg: string; request_id?: string };

function lines(service: ServiceProcess): LogLine[] {
  return service.output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        throw new Error(`${service.name} wrote a line that is not JSON: ${line}`);
      }
    });
}

/** Waits until the service has logged a line that `match` accepts. */
async function logged(
  service: ServiceProcess,
  match: (line: LogLine) => boolean,
): Promise<LogLine> {
  return waitFor(
    () => `the log line in ${service.name}'s output:\n${service.output}`,
    () => lines(service).find(match),
  );
}

/**
 * A request body that arrives in two parts, 100 ms apart: the service reads its end in a later
 * socket callback, as it does for any body larger than a packet.
 */
function slowBody(text: string): { body: ReadableStream<Uint8Array>; duplex: 'half' } {
  const bytes = new TextEncoder().encode(text);
  const half = Math.floor(bytes.length / 2);
  return {
    duplex: 'half',
    body: new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(bytes.subarray(0, half));
        await new Promise((resolve) => setTimeout(resolve, 100));
        controller.enqueue(bytes.subarray(half));
        controller.close();
      },
    }),
  };
}

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * The services' logs as they run in production: separate processes with OpenTelemetry on, JSON
 * on stdout. Every line of a request carries its request id and the active trace and span.
 */
describe('structured logs (end to end, separate processes)', () => {
  let stack: ProcessStack;
  let receiver: OtlpReceiver;
  let orders: ServiceProcess;
  let payments: ServiceProcess;
  let ordersUrl: string;
  let paymentsUrl: string;
  let token: string;
  const secrets: string[] = [
    DEV_JWT_SECRET,
    DEV_WEBHOOK_SECRET,
    STAND_IN_STRIPE_KEY,
    ...Object.values(DEV_GRPC_TOKENS),
  ];

  beforeAll(async () => {
    stack = await ProcessStack.start({
      otel: { OTEL_METRIC_EXPORT_INTERVAL: '60000' },
      // debug: the guard's "Rejected token" line, and health probes (debug only).
      orders: { LOG_LEVEL: 'debug' },
    });
    ({ receiver, orders, payments, ordersUrl, paymentsUrl } = stack);
    token = await tokenFor('cus_logged');
    secrets.push(token);
  }, 60_000);

  afterAll(() => stack?.stop());

  let order: OrderBody;

  it('echoes the client X-Request-ID and logs the request with it and its trace', async () => {
    const key = 'idem-key-logging-0001';
    secrets.push(key);
    const response = await fetch(`${ordersUrl}/api/v1/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'idempotency-key': key,
        'x-request-id': 'test-req-123',
      },
      body: JSON.stringify({
        currency: 'USD',
        items: [{ sku: 'MUG', name: 'Mug', quantity: 1, unitAmount: 899 }],
      }),
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-request-id')).toBe('test-req-123');
    order = (await response.json()) as OrderBody;
    secrets.push(order.payment!.clientSecret!);

    const access = await logged(
      orders,
      (line) => line.request_id === 'test-req-123' && line.context === 'HTTP',
    );
    expect(access).toMatchObject({
      level: 'info',
      service: 'orders',
      method: 'POST',
      route: '/api/v1/orders',
      path: '/api/v1/orders',
      status: 201,
      duration_ms: expect.any(Number),
      trace_id: expect.stringMatching(TRACE_ID),
      span_id: expect.stringMatching(SPAN_ID),
    });
    expect(typeof access.time === 'string' && !Number.isNaN(Date.parse(access.time))).toBe(true);

    // The checkout's trace is the one the exported spans have.
    const server = await receiver.waitFor(() =>
      receiver.spans.find((s) => s.service === 'orders' && s.name.startsWith('POST')),
    );
    expect(access.trace_id).toBe(server.traceId);
    expect(access.span_id).toBe(server.spanId);
  });

  it('logs what happens inside a request (after its body is read) with its id and span', async () => {
    const forged = await tokenFor('cus_logged', { secret: 'x'.repeat(32) });
    secrets.push(forged);
    const response = await fetch(`${ordersUrl}/api/v1/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${forged}`,
        'content-type': 'application/json',
        'x-request-id': 'test-req-rejected',
      },
      ...slowBody(JSON.stringify({ currency: 'USD', items: [] })),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.headers.get('x-request-id')).toBe('test-req-rejected');

    const guard = await logged(
      orders,
      (line) => line.request_id === 'test-req-rejected' && line.context === 'Authenticator',
    );
    expect(guard).toMatchObject({
      level: 'debug',
      msg: expect.stringMatching(/^Rejected token/),
      trace_id: expect.stringMatching(TRACE_ID),
      span_id: expect.stringMatching(SPAN_ID),
    });
    const access = await logged(
      orders,
      (line) => line.request_id === 'test-req-rejected' && line.context === 'HTTP',
    );
    expect(access).toMatchObject({ status: 401, trace_id: guard.trace_id });
  });

  it('generates a request id when there is none or it is not acceptable', async () => {
    const none = await fetch(`${ordersUrl}/api/v1/orders/${order.id}?note=query-value-xyz`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(none.status).toBe(200);
    const generated = none.headers.get('x-request-id')!;
    expect(generated).toMatch(UUID);

    const access = await logged(
      orders,
      (line) => line.request_id === generated && line.context === 'HTTP',
    );
    expect(access).toMatchObject({
      method: 'GET',
      route: '/api/v1/orders/:id',
      path: `/api/v1/orders/${order.id}`,
      status: 200,
    });
    expect(orders.output).not.toContain('query-value-xyz');

    for (const refused of ['has spaces', 'x'.repeat(129), 'semi;colon', 'a/b', '<script>']) {
      const response = await fetch(`${ordersUrl}/health/live`, {
        headers: { 'x-request-id': refused },
      });
      expect(response.headers.get('x-request-id')).toMatch(UUID);
    }
    const longest = 'A-z.0_9'.repeat(18).slice(0, 128);
    const accepted = await fetch(`${ordersUrl}/health/live`, {
      headers: { 'x-request-id': longest },
    });
    expect(accepted.headers.get('x-request-id')).toBe(longest);
  });

  it('puts the request id on errors that never reach a handler', async () => {
    const missing = await fetch(`${ordersUrl}/no/such/route`, {
      headers: { 'x-request-id': 'test-req-404' },
    });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(missing.headers.get('x-request-id')).toBe('test-req-404');

    const notJson = await fetch(`${ordersUrl}/api/v1/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'text/plain',
        'x-request-id': 'test-req-415',
      },
      body: 'hello',
    });
    expect(notJson.status).toBe(415);
    expect(notJson.headers.get('x-request-id')).toBe('test-req-415');
    await logged(orders, (line) => line.request_id === 'test-req-415' && line.status === 415);
  });

  it('logs health probes at debug level only', () => {
    const probes = lines(orders).filter((line) => String(line.path).startsWith('/health/'));
    expect(probes.length).toBeGreaterThan(0);
    expect(probes.every((line) => line.level === 'debug')).toBe(true);
    // payments runs at LOG_LEVEL=log: its readiness probes left no line.
    expect(lines(payments).some((line) => String(line.path).startsWith('/health/'))).toBe(false);
  });

  it('logs a service line inside a webhook with the request id and trace (payments)', async () => {
    const { payload, signature } = signed(
      event('payment_intent.succeeded', paymentIntent({ id: 'pi_not_ours_for_logs' })),
    );
    secrets.push(signature);
    const response = await fetch(`${paymentsUrl}/webhooks/stripe`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'stripe-signature': signature,
        'x-request-id': 'test-req-webhook',
      },
      ...slowBody(payload),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('test-req-webhook');

    const ignored = await logged(
      payments,
      (line) => line.request_id === 'test-req-webhook' && line.context === 'StripeEventsService',
    );
    expect(ignored).toMatchObject({
      level: 'info',
      service: 'payments',
      msg: expect.stringMatching(/^Ignored Stripe event evt_/),
      trace_id: expect.stringMatching(TRACE_ID),
      span_id: expect.stringMatching(SPAN_ID),
    });
    const access = await logged(
      payments,
      (line) => line.request_id === 'test-req-webhook' && line.context === 'HTTP',
    );
    expect(access).toMatchObject({ route: '/webhooks/stripe', status: 200 });
    expect(access.trace_id).toBe(ignored.trace_id);
    expect(access.span_id).not.toBe(ignored.span_id); // the service's own span
  });

  it('logs a gRPC call refused for its service token, without the token', async () => {
    const wrong = 'a-service-token-nobody-issued-0123456789abcdef';
    secrets.push(wrong);
    const client = grpcClient('payments', stack.paymentsGrpcUrl, { token: wrong });
    try {
      const error = await grpcError(client.call('GetPayment', { paymentId: order.payment!.id }));
      expect(error.code).toBe(16);
    } finally {
      client.close();
    }
    const refusal = await logged(payments, (line) => line.context === 'ServiceAuth');
    expect(refusal).toMatchObject({
      level: 'warn',
      msg: expect.stringMatching(
        /^refused \/payments\.v1\.PaymentService\/GetPayment from .+: unknown service credential$/,
      ),
    });
  });

  it('logs none of the secrets, and only JSON lines', () => {
    const everything = `${orders.output}\n${payments.output}`;
    for (const secret of secrets) expect(everything.includes(secret)).toBe(false);
    expect(lines(orders).length).toBeGreaterThan(10);
    expect(lines(payments).length).toBeGreaterThan(10);
  });
});
