import { performance } from 'node:perf_hooks';
import { metrics } from '@opentelemetry/api';

const meter = () => metrics.getMeter('orders-payments');

let client: ReturnType<ReturnType<typeof meter>['createHistogram']> | undefined;
let server: ReturnType<ReturnType<typeof meter>['createHistogram']> | undefined;

/**
 * The RPC duration metrics of the semantic conventions (`rpc.client.duration`,
 * `rpc.server.duration`), which the gRPC instrumentation does not record itself.
 */
export function recordRpcDuration(
  side: 'client' | 'server',
  seconds: number,
  attributes: { service: string; method: string; statusCode: number },
): void {
  const histogram =
    side === 'client'
      ? (client ??= meter().createHistogram('rpc.client.duration', {
          unit: 's',
          description: 'Duration of outbound gRPC calls',
        }))
      : (server ??= meter().createHistogram('rpc.server.duration', {
          unit: 's',
          description: 'Duration of inbound gRPC calls',
        }));
  histogram.record(seconds, {
    'rpc.system': 'grpc',
    'rpc.service': attributes.service,
    'rpc.method': attributes.method,
    'rpc.grpc.status_code': attributes.statusCode,
  });
}

/** Runs an outbound unary call and records its `rpc.client.duration`. */
export async function timedRpc<T>(
  service: string,
  method: string,
  call: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  let statusCode = 0;
  try {
    return await call();
  } catch (error) {
    statusCode = (error as { code?: number }).code ?? 2;
    throw error;
  } finally {
    recordRpcDuration('client', (performance.now() - started) / 1000, {
      service,
      method,
      statusCode,
    });
  }
}
