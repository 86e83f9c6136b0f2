import { isSpanContextValid, type SpanContext, trace } from '@opentelemetry/api';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../runtime/logging.js';
import { REQUEST_ID_HEADER, runInRequest } from '../runtime/request-context.js';

/** Probes: logged at debug level, so they do not drown the requests that matter. */
function isHealthCheck(path: string): boolean {
  return path === '/health' || path.startsWith('/health/');
}

/**
 * Request ids and access logs for an HTTP surface (the id itself is Fastify's `request.id`, from
 * `X-Request-ID` or generated: see `httpAdapter`):
 * - every response carries `X-Request-ID`, set before anything else runs, so errors have it too;
 * - everything done for a request (guards, handlers, services, filters) runs in its context, so
 *   every log line carries `request_id`; entered again once the body has been read, in case the
 *   socket callbacks the body is read in do not carry it (they do on Node 24; older async
 *   context tracking lost it, nestjs-pino#546);
 * - one line per request when the response is sent: method, route, path (never the query
 *   string), status, duration, request id and trace; health probes at debug level.
 */
export function useRequestLogging(app: NestFastifyApplication, logger: Logger): void {
  const fastify = app.getHttpAdapter().getInstance();
  const spans = new WeakMap<FastifyRequest, SpanContext>();

  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    const span = trace.getActiveSpan()?.spanContext();
    if (span && isSpanContextValid(span)) spans.set(request, span);
    runInRequest(request.id, done);
  });
  fastify.addHook('preValidation', (request, _reply, done) => {
    runInRequest(request.id, done);
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    logRequest(logger, request, reply, spans.get(request));
    done();
  });
}

/**
 * A 503 is a dependency away for a while (its cause is logged once as such), not a defect: at
 * `warn`, so that alerts on `error` lines fire for the 500s that need a fix.
 */
function accessLevel(status: number): 'info' | 'warn' | 'error' {
  if (status === 503) return 'warn';
  return status >= 500 ? 'error' : 'info';
}

function logRequest(
  logger: Logger,
  request: FastifyRequest,
  reply: FastifyReply,
  span: SpanContext | undefined,
): void {
  const path = request.url.split('?', 1)[0];
  const status = reply.statusCode;
  const level = isHealthCheck(path) ? 'debug' : accessLevel(status);
  if (!logger.isLevelEnabled(level)) return;
  const route = request.routeOptions.url;
  logger[level](
    {
      context: 'HTTP',
      request_id: request.id,
      ...(span && { trace_id: span.traceId, span_id: span.spanId }),
      method: request.method,
      ...(route && { route }),
      path,
      status,
      duration_ms: Math.round(reply.elapsedTime * 100) / 100,
    },
    `${request.method} ${route ?? path} ${status}`,
  );
}
