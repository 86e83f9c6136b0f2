import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HTTPMethods,
} from 'fastify';
import { DomainError } from '../errors.js';
import { connectionsCheckingInterval, defaultHttpLimits, type HttpLimits } from './limits.js';
import { jsonStructureProblem } from './json-structure.js';
import { NOT_UTF8, ProblemFilter, sendProblem } from './problem.filter.js';
import { buildProblem, type Problem, PROBLEM_CONTENT_TYPE } from './problem.js';
import { REQUEST_ID_HEADER, requestIdFrom } from '../runtime/request-context.js';
import { mergeRouteConfig } from './route-config.js';
import { type SecurityHeaders, securityHeaders } from './security-headers.js';

/** The `charset` parameter of a Content-Type (quoted or not). */
const CHARSET = /;\s*charset\s*=\s*("?)([^";\s]+)\1/i;

/** Request bodies larger than this are refused with 413 unless a route asks for more. */
export const DEFAULT_BODY_LIMIT = 64 * 1024;

/**
 * The route takes its JSON body as the raw bytes (a Buffer in `request.body`), unparsed and
 * unscanned: for bodies that must be verified before anything reads them (signed webhooks).
 */
export function RawBody(): MethodDecorator {
  return (_target, _key, descriptor) =>
    mergeRouteConfig(descriptor.value as object, { rawBody: true });
}

/** What differs between deployments of an HTTP surface. */
export interface HttpOptions {
  /** `production` adds Strict-Transport-Security. */
  nodeEnv?: string;
}

/**
 * Marks the answer to a request refused before its body was read to close the connection when
 * much of the body may still be coming (see configureHttp): a small body is cheaper to drain
 * than a new connection.
 */
export function closeIfBodyPending(request: FastifyRequest, reply: FastifyReply): void {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > DEFAULT_BODY_LIMIT || request.headers['transfer-encoding'] !== undefined) {
    void reply.header('connection', 'close');
  }
}

/**
 * What Node's HTTP parser refuses before any request exists (a request or headers timeout, headers
 * too large, a malformed request), answered as problem+json like every other error, then closed.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const code =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 'request_timeout'
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? 'headers_too_large'
          : 'bad_request';
    const detail =
      code === 'request_timeout'
        ? 'The request did not arrive in time.'
        : code === 'headers_too_large'
          ? 'The request headers are too large.'
          : 'The request is malformed.';
    // No request was parsed, so there is no instance to name.
    const problem: Partial<Problem> = buildProblem(code, detail, '');
    delete problem.instance;
    const body = JSON.stringify(problem);
    socket.write(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status!]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\n` +
        `X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
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
    clientErrorHandler: answerClientError,
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
 * parsed by Fastify's own safe parser (prototype poisoning refused), except on @RawBody routes.
 * `bodyLimits` sets the limit of specific routes. Create the app with `bodyParser: false`.
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
    (request: FastifyRequest, body: Buffer, done) => {
      const charset = CHARSET.exec(request.headers['content-type'] ?? '')?.[2]?.toLowerCase();
      if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
        return done(Object.assign(new Error('charset'), { statusCode: 415, code: NOT_UTF8 }));
      }
      if (request.routeOptions.config.rawBody) {
        return done(null, body);
      }
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
  // A request answered before its body arrived (413, or refused before the body was read) whose
  // answer says `Connection: close`: the connection is closed once the answer is out, instead of
  // reading and discarding the rest (about 3 ms of CPU per MB).
  fastify.addHook('onResponse', (request, reply, done) => {
    if (!request.raw.complete && reply.getHeader('connection') === 'close') {
      request.raw.socket?.destroy();
    }
    done();
  });
  fastify.addHook('onRoute', (route) => {
    const limit = bodyLimits[route.url];
    if (limit !== undefined) route.bodyLimit = limit;
  });
  // No app.enableShutdownHooks(): Nest would close the servers at the first signal, before
  // readiness fails. runService (runtime/run-service.ts) handles SIGTERM and SIGINT through shutDown().
}
