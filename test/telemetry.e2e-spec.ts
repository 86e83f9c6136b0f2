import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Stripe from 'stripe';
import {
  DEV_JWT_SECRET,
  DEV_WEBHOOK_SECRET,
  STAND_IN_STRIPE_KEY,
} from '#common/config/defaults.js';
import type { StripeStandIn } from '#stripe-stand-in/server.js';
import { type OrderBody, postOrder } from './support/http.js';
import type { OtlpReceiver, ReceivedSpan } from './support/otlp-receiver.js';
import { keptResourceAttributes, labelName } from './support/collector-config.js';
import { ProcessStack } from './support/process-stack.js';
import {
  prometheusName,
  promqlNames,
  readObservabilityDocs,
} from './support/observability-docs.js';
import { redisForTests, TEST_REDIS_URL } from './support/redis.js';
import { tokenFor } from './support/stack.js';

const SERVER = 2;
const CLIENT = 3;

const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;
// With a Redis at hand, the rate limits count in it and its spans can be checked too (always in
// CI: see redisForTests).
const withRedis = await redisForTests();

/**
 * Both services as separate processes from dist/ with OpenTelemetry preloaded, exporting over
 * OTLP/HTTP to a receiver in the test: what an SRE would see in Jaeger.
 */
describe('telemetry (end to end, separate processes)', () => {
  let stack: ProcessStack;
  let receiver: OtlpReceiver;
  let stripeStandIn: StripeStandIn;
  let ordersUrl: string;
  let token: string;

  beforeAll(async () => {
    const redis = withRedis
      ? { REDIS_URL: TEST_REDIS_URL, RATE_LIMIT_KEY_PREFIX: `test:telemetry:${randomUUID()}:` }
      : {};
    stack = await ProcessStack.start({
      otel: {
        OTEL_METRIC_EXPORT_INTERVAL: '500',
        OTEL_SEMCONV_STABILITY_OPT_IN: 'http,database,rpc',
      },
      orders: { PAYMENTS_BREAKER_THRESHOLD: '2', ...redis },
      payments: redis,
    });
    ({ receiver, stripe: stripeStandIn, ordersUrl } = stack);
    stripeStandIn.setWebhook(`${stack.paymentsUrl}/webhooks/stripe`, DEV_WEBHOOK_SECRET);
    token = await tokenFor('cus_traced');
  }, 60_000);

  afterAll(() => stack?.stop());

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
        (s) => s.service === 'orders' && s.kind === SERVER && s.name === 'POST /api/v1/orders',
      ),
    );
    expect(root.attributes['http.route']).toBe('/api/v1/orders');
    // Each service exports in its own batches: wait until both sides of the gRPC hop and the
    // Stripe call have arrived, whichever export brought them.
    const spans = await receiver.waitFor(() => {
      const trace = receiver.trace(root.traceId);
      const has = (service: string, kind: number, match: (s: ReceivedSpan) => boolean) =>
        trace.some((s) => s.service === service && s.kind === kind && match(s));
      return has('payments', CLIENT, (s) => s.attributes['server.port'] === stripeStandIn.port) &&
        has('payments', SERVER, (s) => s.name.endsWith('CreatePayment')) &&
        has('orders', CLIENT, (s) => s.name.endsWith('CreatePayment'))
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
    // The caller its service token identified.
    expect(grpcServer.attributes['rpc.caller']).toBe('orders');
    expect(ancestors(grpcClient, spans)).toContain(root);

    const paymentsDbSpans = spans.filter(
      (s) =>
        s.service === 'payments' &&
        s.kind === CLIENT &&
        s.attributes['db.system.name'] === 'postgresql',
    );
    expect(paymentsDbSpans.length).toBeGreaterThan(0);
    for (const span of paymentsDbSpans) expect(ancestors(span, spans)).toContain(grpcServer);

    // One span per call to Stripe: http is patched once, not once per way of importing it.
    const stripeCalls = spans.filter(
      (s) =>
        s.service === 'payments' &&
        s.kind === CLIENT &&
        s.attributes['server.port'] === stripeStandIn.port,
    );
    expect(stripeCalls).toHaveLength(1);
    expect(ancestors(stripeCalls[0], spans)).toContain(grpcServer);

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
    // The route is set on the HTTP server span itself: no second per-request span beside it.
    expect(spans.find((s) => s.name === 'IdempotencyService.execute')!.parentSpanId).toBe(
      root.spanId,
    );
    expect(
      spans.filter((s) => s.service === 'orders' && s.kind !== CLIENT && !s.name.includes('.')),
    ).toEqual([root]);
  });

  it('names HTTP server spans after the route template, and leaves the probes untraced', async () => {
    const response = await fetch(`${ordersUrl}/api/v1/orders/${checkout.order.id}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    const read = await receiver.waitFor(() =>
      receiver.spans.find(
        (s) =>
          s.service === 'orders' &&
          s.kind === SERVER &&
          s.attributes['url.path'] === `/api/v1/orders/${checkout.order.id}`,
      ),
    );
    expect(read.name).toBe('GET /api/v1/orders/:id');
    expect(read.attributes['http.route']).toBe('/api/v1/orders/:id');
    // A path no route matches keeps the method alone: scanners cannot multiply span names or the
    // duration metric's series.
    const path = `/api/v1/${randomUUID()}`;
    expect((await fetch(`${ordersUrl}${path}`)).status).toBe(404);
    const unknown = await receiver.waitFor(() =>
      receiver.spans.find((s) => s.kind === SERVER && s.attributes['url.path'] === path),
    );
    expect(unknown.name).toBe('GET');
    expect(unknown.attributes['http.route']).toBeUndefined();
    // ProcessStack waited for /health/ready of both services.
    expect(
      receiver.spans.filter((s) => String(s.attributes['url.path']).startsWith('/health')),
    ).toEqual([]);
  });

  (withRedis ? it : it.skip)(
    `traces the rate-limit checks in Redis under the request they limit${withRedis ? '' : ` (skipped: no Redis answers at ${new URL(TEST_REDIS_URL).host}; set TEST_REDIS_URL)`}`,
    () => {
      const trace = receiver.trace(checkout.traceId);
      const root = trace.find((s) => s.kind === SERVER && s.service === 'orders')!;
      const redis = trace.filter((s) => s.attributes['db.system.name'] === 'redis');
      expect(redis.length).toBeGreaterThan(0);
      for (const span of redis) {
        expect(span.kind).toBe(CLIENT);
        expect(ancestors(span, trace)).toContain(root);
        // The command only, never its arguments (the rate-limit keys).
        expect(span.attributes['db.query.text']).toBe(span.name);
      }
    },
  );

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
    const webhook = receiver
      .trace(handled.traceId)
      .find((s) => s.service === 'payments' && s.kind === SERVER)!;
    expect(webhook.name).toBe('POST /webhooks/stripe');
    expect(webhook.attributes['http.route']).toBe('/webhooks/stripe');
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
      // The relay's span ends after orders answered: it may arrive in a later export.
      const relay = trace.find((s) => s.name === 'OutboxRelay.deliver');
      return server && relay ? { trace, server, relay } : undefined;
    });
    expect(ancestors(delivered.server, delivered.trace)).toContain(delivered.relay);
  });

  it('traces a refund as POST /api/v1/orders/:id/refunds, through payments to Stripe', async () => {
    const refund = await fetch(`${ordersUrl}/api/v1/orders/${checkout.order.id}/refunds`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
      },
      body: JSON.stringify({ amount: 100 }),
    });
    expect(refund.status).toBe(201);
    const server = await receiver.waitFor(() =>
      receiver.spans.find(
        (s) =>
          s.service === 'orders' &&
          s.kind === SERVER &&
          s.attributes['url.path'] === `/api/v1/orders/${checkout.order.id}/refunds`,
      ),
    );
    expect(server.name).toBe('POST /api/v1/orders/:id/refunds');
    expect(server.attributes['http.route']).toBe('/api/v1/orders/:id/refunds');
    const stripeCall = await receiver.waitFor(() =>
      receiver
        .trace(server.traceId)
        .find(
          (s) => s.service === 'payments' && s.attributes['server.port'] === stripeStandIn.port,
        ),
    );
    expect(ancestors(stripeCall, receiver.trace(server.traceId))).toContain(server);
  });

  it('shows one span per gRPC attempt, and the open circuit', async () => {
    await stack.payments.stop();
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
      await stack.restartPayments();
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
    const routes = (service: string) =>
      receiver.metrics
        .filter((m) => m.service === service && m.name === 'http.server.request.duration')
        .flatMap((m) => m.points.map((p) => p['http.route']));
    expect(routes('orders')).toEqual(
      expect.arrayContaining(['/api/v1/orders', '/api/v1/orders/:id']),
    );
    expect(routes('payments')).toContain('/webhooks/stripe');
  });

  it('exports the Node.js runtime metrics of each instance', async () => {
    for (const service of ['orders', 'payments']) {
      const names = await receiver.waitFor(() => {
        const exported = receiver.metricNames.get(service);
        return exported?.has('nodejs.eventloop.utilization') ? exported : undefined;
      });
      expect([...names]).toEqual(
        expect.arrayContaining([
          'nodejs.eventloop.delay.p99',
          'nodejs.eventloop.utilization',
          'v8js.memory.heap.used',
        ]),
      );
    }
  });

  it('tells every span and metric which service, version, environment and instance sent it', () => {
    const resources = [...receiver.spans, ...receiver.metrics].map((signal) => signal.resource);
    expect(resources.length).toBeGreaterThan(0);
    for (const resource of resources) {
      expect(resource).toMatchObject({
        'service.name': expect.stringMatching(/^(orders|payments)$/),
        'service.version': VERSION,
        'deployment.environment.name': 'test',
        'service.instance.id': expect.any(String),
      });
    }
    // Two processes, two instances (payments restarted once: three).
    const instances = new Set(
      resources.map((r) => `${String(r['service.name'])}/${String(r['service.instance.id'])}`),
    );
    expect(instances.size).toBe(3);
  });

  it('exports every span, metric and label docs/observability.md names', async () => {
    const docs = readObservabilityDocs();
    expect(docs.spanNames).toEqual(
      expect.arrayContaining(['POST /api/v1/orders', 'POST /webhooks/stripe']),
    );
    expect(docs.metrics.length).toBeGreaterThan(10);
    expect(docs.queries.length).toBeGreaterThan(0);

    const exported = new Set(receiver.spans.map((s) => s.name));
    expect(docs.spanNames.filter((name) => !exported.has(name))).toEqual([]);

    // Some metrics (GC, the runtime's) may come with a later export.
    const documented = docs.metrics.map((m) => m.name);
    await receiver.waitFor(() =>
      documented.every((name) => receiver.metrics.some((m) => m.name === name)) ? true : undefined,
    );
    const labelsOf = new Map<string, Set<string>>();
    for (const row of docs.metrics) {
      const received = receiver.metrics.filter((m) => m.name === row.name);
      expect({ metric: row.name, prometheus: prometheusName(received[0]) }).toEqual({
        metric: row.name,
        prometheus: row.prometheus,
      });
      const attributes = new Set(received.flatMap((m) => m.points.flatMap(Object.keys)));
      expect({ metric: row.name, missing: row.labels.filter((l) => !attributes.has(l)) }).toEqual({
        metric: row.name,
        missing: [],
      });
      labelsOf.set(row.prometheus, new Set([...attributes].map(labelName)));
    }

    // Every name in the PromQL examples is a documented metric (a histogram's through its
    // _bucket, _sum or _count series) or a label it has in Prometheus: its own attributes, the
    // resource attributes the collector keeps, job and instance, and le for a bucket.
    const resourceLabels = [...(keptResourceAttributes() ?? []), 'job', 'instance'].map(labelName);
    for (const query of docs.queries) {
      const names = promqlNames(query);
      const series = names.filter((name) =>
        [name, name.replace(/_(bucket|sum|count)$/, '')].some((base) => labelsOf.has(base)),
      );
      expect({ query, series: series.length }).not.toEqual({ query, series: 0 });
      const allowed = new Set([
        ...resourceLabels,
        ...series.flatMap((name) => [
          ...(labelsOf.get(name) ?? labelsOf.get(name.replace(/_(bucket|sum|count)$/, '')) ?? []),
          ...(name.endsWith('_bucket') ? ['le'] : []),
        ]),
      ]);
      const unknown = names.filter((name) => !series.includes(name) && !allowed.has(name));
      expect({ query, unknown }).toEqual({ query, unknown: [] });
    }
  });

  it('exports and logs none of the secrets', () => {
    const everything = [...receiver.rawBodies, stack.orders.output, stack.payments.output].join(
      '\n',
    );
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
