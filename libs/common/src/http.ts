import type { IncomingMessage } from 'node:http';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { ProblemFilter } from './problem.filter.js';
import { REQUEST_ID_HEADER, requestIdFrom } from './request-context.js';

/** Request bodies larger than this are refused with 413 unless a route asks for more. */
export const DEFAULT_BODY_LIMIT = 64 * 1024;

/** A request whose JSON body also keeps its raw bytes (for signature checks). */
export type RawBodyRequest = FastifyRequest & { rawBody?: Buffer };

/** Each request's id (`request.id`) is the client's valid `X-Request-ID`, or a new UUID. */
export function httpAdapter(): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: DEFAULT_BODY_LIMIT,
    genReqId: (request: IncomingMessage) => requestIdFrom(request.headers[REQUEST_ID_HEADER]),
  });
}

/**
 * What every HTTP surface of the project shares: problem+json errors, and JSON as the only body
 * type (Nest's form and text parsers are left out, so anything else is a 415 from Fastify). JSON is
 * parsed by Fastify's own safe parser (prototype poisoning refused), keeping the raw bytes on the
 * request. `bodyLimits` raises the limit of specific routes. Create the app with
 * `bodyParser: false`.
 */
export function configureHttp(
  app: NestFastifyApplication,
  bodyLimits: Record<string, number> = {},
): void {
  app.useGlobalFilters(new ProblemFilter());
  const fastify = app.getHttpAdapter().getInstance();
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser(['text/plain', 'application/json']);
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer' },
    (request: RawBodyRequest, body: Buffer, done) => {
      request.rawBody = body;
      void parseJson(request, body.toString('utf8'), done);
    },
  );
  fastify.addHook('onRoute', (route) => {
    const limit = bodyLimits[route.url];
    if (limit !== undefined) route.bodyLimit = limit;
  });
  // No app.enableShutdownHooks(): Nest would close the servers at the first signal, before
  // readiness fails. runService (main.ts) handles SIGTERM and SIGINT through shutDown().
}
