import type { IncomingMessage } from 'node:http';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HTTPMethods,
} from 'fastify';
import { DomainError } from './errors.js';
import { connectionsCheckingInterval, defaultHttpLimits, type HttpLimits } from './http-limits.js';
import { jsonStructureProblem } from './json-structure.js';
import { ProblemFilter, sendProblem } from './problem.filter.js';
import { REQUEST_ID_HEADER, requestIdFrom } from './request-context.js';
import { type SecurityHeaders, securityHeaders } from './security-headers.js';

/** Request bodies larger than this are refused with 413 unless a route asks for more. */
export const DEFAULT_BODY_LIMIT = 64 * 1024;

/** A request whose JSON body also keeps its raw bytes (for signature checks). */
export type RawBodyRequest = FastifyRequest & { rawBody?: Buffer };

/** What differs between deployments of an HTTP surface. */
export interface HttpOptions {
  /** `production` adds Strict-Transport-Security. */
  nodeEnv?: string;
}

/** A route as registered with Fastify. */
export interface RegisteredRoute {
  method: HTTPMethods;
  url: string;
}

const headersByServer = new WeakMap<FastifyInstance, SecurityHeaders>();
const routesByServer = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/** Every route the app registered (the inventory of its HTTP surface), once it is initialized. */
export function registeredRoutes(app: NestFastifyApplication): readonly RegisteredRoute[] {
  return routesByServer.get(app.getHttpAdapter().getInstance()) ?? [];
}

/**
 * Each request's id (`request.id`) is the client's valid `X-Request-ID`, or a new UUID.
 * `request.ip` is the peer's address; `X-Forwarded-For` is believed only from `trustedProxies`
 * (IPs or CIDRs), so a client cannot pick the address it is rate-limited by. `limits` bound how
 * long a connection may take and how many are open (the variables' defaults when left out).
 */
export function httpAdapter(
  trustedProxies: readonly string[] = [],
  limits: HttpLimits = defaultHttpLimits(),
): FastifyAdapter {
  const adapter = new FastifyAdapter({
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // For http.createServer, which checks headersTimeout against its own requestTimeout.
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: connectionsCheckingInterval(limits),
    },
    bodyLimit: DEFAULT_BODY_LIMIT,
    genReqId: (request: IncomingMessage) => requestIdFrom(request.headers[REQUEST_ID_HEADER]),
    trustProxy: trustedProxies.length > 0 ? [...trustedProxies] : false,
    // The router refuses a malformed URL (400) or an over-long parameter (414) before any hook or
    // error handler runs: these answers get the security headers and a problem body here.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const headers = headersByServer.get(request.server);
      const send = () => sendProblem(reply, error, request.url);
      if (headers) headers(request.raw, reply.raw, send);
      else send();
    },
  });
  adapter.getInstance().server.maxConnections = limits.maxConnections;
  return adapter;
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
  options: HttpOptions = {},
): void {
  app.useGlobalFilters(new ProblemFilter());
  const fastify = app.getHttpAdapter().getInstance();
  const headers = securityHeaders({ production: options.nodeEnv === 'production' });
  headersByServer.set(fastify, headers);
  fastify.addHook('onRequest', (request, reply, done) => headers(request.raw, reply.raw, done));
  const routes: RegisteredRoute[] = [];
  routesByServer.set(fastify, routes);
  fastify.addHook('onRoute', ({ method, url }) => {
    for (const each of [method].flat()) routes.push({ method: each, url });
  });
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser(['text/plain', 'application/json']);
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer' },
    (request: RawBodyRequest, body: Buffer, done) => {
      request.rawBody = body;
      const text = body.toString('utf8');
      void parseJson(request, text, (error, value) => {
        if (error) return done(error);
        const problem = jsonStructureProblem(text);
        if (problem)
          return done(new DomainError('bad_request', `The JSON body is refused: ${problem}.`));
        done(null, value);
      });
    },
  );
  fastify.addHook('onRoute', (route) => {
    const limit = bodyLimits[route.url];
    if (limit !== undefined) route.bodyLimit = limit;
  });
  // No app.enableShutdownHooks(): Nest would close the servers at the first signal, before
  // readiness fails. runService (main.ts) handles SIGTERM and SIGINT through shutDown().
}
