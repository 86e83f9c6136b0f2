import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Stripe from 'stripe';
import { DEV_JWT_SECRET, DEV_WEBHOOK_SECRET, STAND_IN_STRIPE_KEY } from '#common/defaults.js';
import { StripeStandIn } from '#stripe-stand-in/server.js';
import { createTestDatabase, type TestDatabase } from '#testing/database.js';
import { freePort } from '#testing/ports.js';
import { type OrderBody, postOrder } from './support/http.js';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';
import { ServiceProcess } from './support/service-process.js';
import { tokenFor } from './support/stack.js';

const SERVER = 2;
const CLIENT = 3;

/**
 * Both services as separate processes from dist/ with OpenTelemetry preloaded, exporting over
 * OTLP/HTTP to a receiver in the test: what an SRE would see in Jaeger.
 */
describe('telemetry (end to end, separate processes)', () => {
  let receiver: OtlpReceiver;
  let stripeStandIn: StripeStandIn;
  let ordersDb: TestDatabase;
  let paymentsDb: TestDatabase;
  let orders: ServiceProcess;
  let payments: ServiceProcess;
  let ordersUrl: string;
  let ports: Record<'ordersHttp' | 'ordersGrpc' | 'paymentsHttp' | 'paymentsGrpc', number>;
  let token: string;
  let paymentsEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    [receiver, stripeStandIn, ordersDb, paymentsDb] = await Promise.all([
      OtlpReceiver.start(),
      StripeStandIn.start({ port: 0 }),
      createTestDatabase('orders'),
      createTestDatabase('payments'),
    ]);
    const [ordersHttp, ordersGrpc, paymentsHttp, paymentsGrpc] = await Promise.all(
      [1, 2, 3, 4].map(() => freePort()),
    );
    ports = { ordersHttp, ordersGrpc, paymentsHttp, paymentsGrpc };
    stripeStandIn.setWebhook(
      `http://127.0.0.1:${paymentsHttp}/webhooks/stripe`,
      DEV_WEBHOOK_SECRET,
    );
    const otel = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_METRIC_EXPORT_INTERVAL: '500',
      OTEL_SEMCONV_STABILITY_OPT_IN: 'http,database,rpc',
      OTEL_LOGS_EXPORTER: 'none',
    };
    paymentsEnv = {
      ...otel,
      NODE_ENV: 'test',
      LOG_LEVEL: 'log',
      OTEL_SERVICE_NAME: 'payments',
      PAYMENTS_HTTP_PORT: String(paymentsHttp),
      PAYMENTS_GRPC_PORT: String(paymentsGrpc),
      PAYMENTS_DATABASE_URL: paymentsDb.url,
      STRIPE_API_URL: stripeStandIn.url,
      STRIPE_MAX_NETWORK_RETRIES: '0',
      ORDERS_GRPC_URL: `127.0.0.1:${ordersGrpc}`,
      OUTBOX_POLL_INTERVAL_MS: '100',
    };
    payments = await ServiceProcess.start(
      'payments',
      paymentsEnv,
      `http://127.0.0.1:${paymentsHttp}/health/ready`,
    );
    orders = await ServiceProcess.start(
      'orders',
      {
        ...otel,
        NODE_ENV: 'test',
        LOG_LEVEL: 'log',
        OTEL_SERVICE_NAME: 'orders',
        ORDERS_HTTP_PORT: String(ordersHttp),
        ORDERS_GRPC_PORT: String(ordersGrpc),
        ORDERS_DATABASE_URL: ordersDb.url,
        PAYMENTS_GRPC_URL: `127.0.0.1:${paymentsGrpc}`,
        PAYMENTS_RETRY_INITIAL_DELAY_MS: '10',
        PAYMENTS_RETRY_MAX_DELAY_MS: '50',
        PAYMENTS_BREAKER_THRESHOLD: '2',
      },
      `http://127.0.0.1:${ordersHttp}/health/ready`,
    );
    ordersUrl = `http://127.0.0.1:${ordersHttp}`;
    token = await tokenFor('cus_traced');
  }, 60_000);

  afterAll(async () => {
    await orders?.stop();
    await payments?.stop();
    await stripeStandIn?.stop();
    await receiver?.stop();
    await Promise.all([ordersDb?.drop(), paymentsDb?.drop()]);
  });

  const ancestors = (span: ReceivedSpan, trace: ReceivedSpan[]): ReceivedSpan[] => {
    const chain: ReceivedSpan[] = [];
    for (
      let parent = trace.find((s) => s.spanId === span.parentSpanId);
      parent;
      parent = trace.find((s) => s.spanId === parent.parentSpanId)
    ) {
      chain.push(parent);
    }
    return chain;
  };

  let checkout: { order: OrderBody; traceId: string };

  it('follows one checkout from the storefront through gRPC and PostgreSQL to Stripe', async () => {
    const key = randomUUID();
    const response = await postOrder(ordersUrl, token, { key });
    expect(response.status).toBe(201);
    const order = (await response.json()) as OrderBody;
    const replay = await postOrder(ordersUrl, token, { key });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');

    const root = await receiver.waitFor(() =>
      receiver.spans.find(
        (s) => s.service === 'orders' && s.kind === SERVER && s.name.startsWith('POST'),
      ),
    );
    const spans = await receiver.waitFor(() => {
      const trace = receiver.trace(root.traceId);
      return trace.some(
        (s) =>
          s.service === 'payments' &&
          s.kind === CLIENT &&
          s.attributes['server.port'] === stripeStandIn.port,
      )
        ? trace
        : undefined;
    });
    checkout = { order, traceId: root.traceId };

    const grpcClient = spans.find(
      (s) => s.service === 'orders' && s.kind === CLIENT && s.name.endsWith('CreatePayment'),
    )!;
    const grpcServer = spans.find(
      (s) => s.service === 'payments' && s.kind === SERVER && s.name.endsWith('CreatePayment'),
    )!;
    expect(grpcClient).toBeDefined();
    expect(grpcServer.parentSpanId).toBe(grpcClient.spanId);
    expect(ancestors(grpcClient, spans)).toContain(root);

    const paymentsDbSpans = spans.filter(
      (s) =>
        s.service === 'payments' &&
        s.kind === CLIENT &&
        s.attributes['db.system.name'] === 'postgresql',
    );
    expect(paymentsDbSpans.length).toBeGreaterThan(0);
    for (const span of paymentsDbSpans) expect(ancestors(span, spans)).toContain(grpcServer);

    const stripeCall = spans.find(
      (s) =>
        s.service === 'payments' &&
        s.kind === CLIENT &&
        s.attributes['server.port'] === stripeStandIn.port,
    )!;
    expect(ancestors(stripeCall, spans)).toContain(grpcServer);

    const names = spans.map((s) => s.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'OrdersService.createOrder',
        'PaymentsClient.attempt',
        'PaymentsService.createPayment',
        'StripeGateway.createPaymentIntent',
      ]),
    );
    const createOrder = spans.find((s) => s.name === 'OrdersService.createOrder')!;
    expect(createOrder.attributes).toMatchObject({
      'order.id': order.id,
      'order.amount': 3899,
      'order.currency': 'usd',
    });
    expect(
      spans.find((s) => s.name === 'StripeGateway.createPaymentIntent')!.attributes,
    ).toMatchObject({
      'stripe.request_id': expect.stringMatching(/^req_/),
    });
    expect(root.attributes['http.route'] ?? root.attributes['url.path']).toBeDefined();
  });

  it('links the webhook trace to the checkout and continues it to orders', async () => {
    const stripe = new Stripe(STAND_IN_STRIPE_KEY, {
      host: '127.0.0.1',
      port: stripeStandIn.port,
      protocol: 'http',
    });
    const intentId = checkout.order.payment!.clientSecret!.split('_secret_')[0];
    await stripe.paymentIntents.confirm(intentId, { payment_method: 'pm_card_visa' });

    const handled = await receiver.waitFor(() =>
      receiver.spans.find(
        (s) =>
          s.name === 'StripeEventsService.handle' &&
          s.attributes['stripe.event_type'] === 'payment_intent.succeeded',
      ),
    );
    const links = receiver.trace(handled.traceId).flatMap((s) => s.links);
    expect(links.map((l) => l.traceId)).toContain(checkout.traceId);
    expect(handled.traceId).not.toBe(checkout.traceId);

    const delivered = await receiver.waitFor(() => {
      const trace = receiver.trace(handled.traceId);
      const server = trace.find(
        (s) =>
          s.service === 'orders' &&
          s.kind === SERVER &&
          s.name.endsWith('UpdateOrderPaymentStatus'),
      );
      return server ? { trace, server } : undefined;
    });
    const relay = delivered.trace.find((s) => s.name === 'OutboxRelay.deliver')!;
    expect(ancestors(delivered.server, delivered.trace)).toContain(relay);
  });

  it('shows one span per gRPC attempt, and the open circuit', async () => {
    await payments.stop();
    try {
      const failed = await postOrder(ordersUrl, token);
      expect(failed.status).toBe(503);
      const attempts = await receiver.waitFor(() => {
        const byTrace = Map.groupBy(
          receiver.spans.filter((s) => s.name === 'PaymentsClient.attempt'),
          (s) => s.traceId,
        );
        return [...byTrace.values()].find((spans) => spans.length === 3);
      });
      expect(attempts.map((s) => Number(s.attributes['retry.attempt'])).sort()).toEqual([1, 2, 3]);

      await postOrder(ordersUrl, token); // the second failure opens the circuit (threshold 2)
      const rejected = await postOrder(ordersUrl, token);
      expect(rejected.status).toBe(503);
      const event = await receiver.waitFor(() =>
        receiver.spans.flatMap((s) => s.events).find((e) => e.name === 'circuit.rejected'),
      );
      expect(event.attributes['circuit.state']).toBe('open');
      expect(receiver.spans.flatMap((s) => s.events).some((e) => e.name === 'circuit.opened')).toBe(
        true,
      );
    } finally {
      payments = await ServiceProcess.start(
        'payments',
        paymentsEnv,
        `http://127.0.0.1:${ports.paymentsHttp}/health/ready`,
      );
    }
  });

  it('exports the standard HTTP, RPC and database metrics and the business metrics', async () => {
    await receiver.waitFor(() => {
      const names = receiver.metricNames.get('orders');
      return names?.has('http.server.request.duration') && names.has('circuit.state')
        ? names
        : undefined;
    });
    const orders = receiver.metricNames.get('orders')!;
    const payments = receiver.metricNames.get('payments')!;
    expect([...orders]).toEqual(expect.arrayContaining(['http.server.request.duration']));
    expect([...payments]).toEqual(expect.arrayContaining(['db.client.operation.duration']));
    expect([...orders].some((name) => name.startsWith('rpc.client.'))).toBe(true);
    expect([...payments].some((name) => name.startsWith('rpc.server.'))).toBe(true);
    expect([...orders]).toEqual(
      expect.arrayContaining(['orders.created', 'idempotency.replays', 'circuit.state']),
    );
    expect([...payments]).toEqual(
      expect.arrayContaining([
        'webhooks.events',
        'payments.status_changes',
        'outbox.pending',
        'outbox.oldest_pending_age',
      ]),
    );
  });

  it('exports and logs none of the secrets', () => {
    const everything = [...receiver.rawBodies, orders.output, payments.output].join('\n');
    const clientSecret = checkout.order.payment!.clientSecret!;
    for (const secret of [
      token,
      DEV_JWT_SECRET,
      DEV_WEBHOOK_SECRET,
      STAND_IN_STRIPE_KEY,
      clientSecret,
    ]) {
      expect(everything.includes(secret)).toBe(false);
    }
    expect(receiver.spans.length).toBeGreaterThan(20);
  });
});
