import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { ProxyTracerProvider, type Tracer } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { defaultResource, type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { markTelemetryEnabled, setTelemetryShutdown } from './settings.js';

/** Probes would drown the traces that matter. */
const isProbe = (path: string | undefined) => path?.startsWith('/health/') ?? false;

// A provider with no SDK behind it: its tracer's spans are the active span's context, recording
// nothing.
const NO_SPANS = new ProxyTracerProvider().getTracer('@fastify/otel');

/**
 * @fastify/otel for the route only. It records the route template where the HTTP
 * instrumentation's server span and duration metric take it, and opens a `request` span of its
 * own under that server span: a duplicate of it, one more span to record and export per request.
 * Without an SDK tracer that span is only the server span's context, so the work inside the
 * request stays the server span's child.
 */
class FastifyRouteInstrumentation extends FastifyOtelInstrumentation {
  protected override get tracer(): Tracer {
    return NO_SPANS;
  }
}

/**
 * The instrumentations this project needs, shared with the benchmark's reference stack so both
 * pay the same tracing cost: HTTP server and client (the Fastify plugin only names the server span
 * after its route), gRPC client and server, PostgreSQL, Redis (the rate limits), and the Node.js
 * runtime metrics. Nothing sensitive is recorded: no headers, no metadata, no query parameters, no
 * Redis arguments.
 */
export function instrumentations(): Instrumentation[] {
  return [
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (request: IncomingMessage) => isProbe(request.url),
    }),
    // The route template (`/api/v1/orders/:id`) on the HTTP server span, which then takes the
    // name `GET /api/v1/orders/:id`, and on `http.server.request.duration`. No per-hook or
    // per-handler spans: they would only time Nest's plumbing.
    new FastifyRouteInstrumentation({
      registerOnInitialization: true,
      instrumentHooks: false,
      instrumentHandler: false,
      ignorePaths: ({ url }) => isProbe(url),
    }),
    new GrpcInstrumentation({
      ignoreGrpcMethods: [/^Check$/, /^Watch$/],
    }),
    new PgInstrumentation({
      enhancedDatabaseReporting: false,
      requireParentSpan: true,
      // A pool checkout per query is noise next to the query itself.
      ignoreConnectSpans: true,
    }),
    new IORedisInstrumentation({
      // Rate-limit checks are children of the request they limit; connecting and reconnecting
      // outside a request are not traced.
      requireParentSpan: true,
      // The command only: the arguments are rate-limit keys (client addresses, customer ids).
      dbStatementSerializer: (command) => command,
    }),
    // Event-loop delay and utilization, heap and GC, per instance (service.instance.id).
    new RuntimeNodeInstrumentation(),
  ];
}

/**
 * `service.version` (SERVICE_VERSION, else package.json's version) and `deployment.environment.name`
 * (NODE_ENV) on every span and metric. OTEL_RESOURCE_ATTRIBUTES overrides both, since the SDK's
 * detected attributes take precedence over these.
 */
export function serviceResource(env: NodeJS.ProcessEnv = process.env): Resource {
  const attributes: Record<string, string> = { 'service.version': serviceVersion(env) };
  if (env.NODE_ENV) attributes['deployment.environment.name'] = env.NODE_ENV;
  return defaultResource().merge(resourceFromAttributes(attributes));
}

function serviceVersion(env: NodeJS.ProcessEnv): string {
  if (env.SERVICE_VERSION) return env.SERVICE_VERSION;
  try {
    // dist/libs/observability/src/sdk.js -> the package.json beside dist/.
    const manifest = readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(manifest) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The SDK with the instrumentations above. Exporters, sampler, service name and the other
 * resource attributes come from the standard OTEL_* variables.
 */
export function startTelemetry(): NodeSDK {
  const sdk = new NodeSDK({ resource: serviceResource(), instrumentations: instrumentations() });
  sdk.start();
  markTelemetryEnabled();
  let stopped: Promise<void> | undefined;
  const shutdown = () => (stopped ??= sdk.shutdown().catch(() => undefined));
  // The service calls it at the end of its own shutdown (runService), after in-flight requests
  // have finished; `beforeExit` covers a process that simply runs out of work.
  setTelemetryShutdown(shutdown);
  process.once('beforeExit', () => void shutdown());
  return sdk;
}
