import type { IncomingMessage } from 'node:http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { markTelemetryEnabled, setTelemetryShutdown } from './settings.js';

/**
 * The SDK with the instrumentations this project needs (HTTP server and client, gRPC client and
 * server, PostgreSQL). Exporters, sampler, service name and resource come from the standard
 * OTEL_* variables. Nothing sensitive is recorded: no headers, no metadata, no query parameters.
 */
export function startTelemetry(): NodeSDK {
  const sdk = new NodeSDK({
    instrumentations: [
      new HttpInstrumentation({
        // Probes would drown the traces that matter.
        ignoreIncomingRequestHook: (request: IncomingMessage) =>
          request.url?.startsWith('/health/') ?? false,
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
    ],
  });
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
