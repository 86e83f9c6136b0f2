import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { env } from '../config/config.js';

/** How long an HTTP connection may take at each step, and how many may be open at once. */
export interface HttpLimits {
  /** From the first byte of a request to its last (body included); the client gets a 408. */
  requestTimeoutMs: number;
  /** From the first byte of a request to the end of its headers; at most requestTimeoutMs. */
  headersTimeoutMs: number;
  /** How long an idle keep-alive connection stays open for the next request. */
  keepAliveTimeoutMs: number;
  /** Connections beyond this are closed as soon as they are accepted. */
  maxConnections: number;
  /** Where maxConnections comes from, for the boot log line. */
  maxConnectionsSource: string;
}

/** Descriptors kept for everything else: database pools, gRPC, Redis, telemetry, logs, files. */
export const RESERVED_FILE_DESCRIPTORS = 256;
/** Beyond this many connections an instance runs out of memory and CPU long before descriptors. */
export const MAX_CONNECTIONS_CEILING = 10_000;
/** When the open-file limit cannot be read (not Linux): the common default limit of 1024. */
const FALLBACK_FILE_LIMIT = 1024;

/** The variables of HttpLimits, for a service's config schema (each service has its own env). */
export const httpLimitVariables = {
  // A real client sends even a 1 MB webhook in a few seconds; a trickled body holds a connection.
  HTTP_REQUEST_TIMEOUT_MS: env.positiveInt(30_000),
  // Headers are a few hundred bytes: 15 s allows for a slow mobile link, not for slowloris.
  HTTP_HEADERS_TIMEOUT_MS: env.positiveInt(15_000),
  // Longer than proxies' upstream idle timeouts (ALB and nginx: 60 s): the proxy closes first, so
  // it never sends a request on a connection we have just closed (a 502 for the client).
  HTTP_KEEP_ALIVE_TIMEOUT_MS: env.positiveInt(65_000),
  // Unset: the open-file limit minus RESERVED_FILE_DESCRIPTORS (see defaultMaxConnections).
  HTTP_MAX_CONNECTIONS: z.preprocess(
    (value) => (value === '' ? undefined : value),
    z.coerce.number().int('must be an integer').positive('must be positive').optional(),
  ),
};

interface HttpLimitValues {
  HTTP_REQUEST_TIMEOUT_MS: number;
  HTTP_HEADERS_TIMEOUT_MS: number;
  HTTP_KEEP_ALIVE_TIMEOUT_MS: number;
  HTTP_MAX_CONNECTIONS?: number;
}

/** Node refuses a headers timeout longer than the request timeout, which includes the headers. */
export function refineHttpLimits(value: HttpLimitValues, ctx: z.core.$RefinementCtx): void {
  const { HTTP_HEADERS_TIMEOUT_MS: headers, HTTP_REQUEST_TIMEOUT_MS: request } = value;
  // zod runs refinements even when a timeout itself was refused: that one problem is enough.
  if (![headers, request].every((ms) => Number.isInteger(ms) && ms > 0)) return;
  if (headers > request) {
    ctx.addIssue({
      code: 'custom',
      path: ['HTTP_HEADERS_TIMEOUT_MS'],
      message: 'must not exceed HTTP_REQUEST_TIMEOUT_MS (the request includes its headers)',
    });
  }
}

export function httpLimits(
  value: HttpLimitValues,
  fileLimit: number | undefined = openFileLimit(),
): HttpLimits {
  const configured = value.HTTP_MAX_CONNECTIONS;
  return {
    requestTimeoutMs: value.HTTP_REQUEST_TIMEOUT_MS,
    headersTimeoutMs: value.HTTP_HEADERS_TIMEOUT_MS,
    keepAliveTimeoutMs: value.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    ...(configured === undefined
      ? defaultMaxConnections(fileLimit)
      : { maxConnections: configured, maxConnectionsSource: 'HTTP_MAX_CONNECTIONS' }),
  };
}

/** The limits with every variable unset. */
export function defaultHttpLimits(): HttpLimits {
  return httpLimits(z.object(httpLimitVariables).parse({}));
}

/**
 * Every connection holds a file descriptor: past the limit, accept() fails and so do new database
 * and gRPC connections and file reads. The cap keeps a reserve (half the limit when it is small),
 * and stays under a ceiling where the limit is huge (containers often allow a million).
 */
export function defaultMaxConnections(
  fileLimit: number | undefined,
): Pick<HttpLimits, 'maxConnections' | 'maxConnectionsSource'> {
  const limit = fileLimit ?? FALLBACK_FILE_LIMIT;
  const reserve = Math.min(RESERVED_FILE_DESCRIPTORS, Math.floor(limit / 2));
  const maxConnections = Math.max(1, Math.min(limit - reserve, MAX_CONNECTIONS_CEILING));
  const known = fileLimit === undefined ? 'unknown, assumed' : 'of';
  return {
    maxConnections,
    maxConnectionsSource: `open-file limit ${known} ${limit}, ${reserve} reserved, at most ${MAX_CONNECTIONS_CEILING}`,
  };
}

/**
 * The soft "Max open files" limit of this process (Node raises it to the hard limit at start), or
 * undefined where /proc/self/limits does not exist or says unlimited.
 */
export function openFileLimit(limits: () => string = readProcLimits): number | undefined {
  let text: string;
  try {
    text = limits();
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\d+)\s/m.exec(text)?.[1];
  return soft === undefined ? undefined : Number(soft);
}

function readProcLimits(): string {
  return readFileSync('/proc/self/limits', 'utf8');
}

/**
 * Node checks the request and headers timeouts only on this interval (30 s by default), so a
 * timeout fired up to 30 s late; a tenth of the shorter one keeps them within 10%.
 */
export function connectionsCheckingInterval(limits: HttpLimits): number {
  return Math.ceil(Math.min(limits.requestTimeoutMs, limits.headersTimeoutMs) / 10);
}

/** The boot log line: what bounds this instance's HTTP connections. */
export function describeHttpLimits(limits: HttpLimits): string {
  return (
    `HTTP server: at most ${limits.maxConnections} connections (${limits.maxConnectionsSource}); ` +
    `timeouts: request ${limits.requestTimeoutMs} ms, headers ${limits.headersTimeoutMs} ms, ` +
    `keep-alive ${limits.keepAliveTimeoutMs} ms`
  );
}

/**
 * Behind a load balancer without TRUSTED_PROXIES, every request comes from the balancer's address:
 * all anonymous clients share one rate-limit budget, and one client can exhaust it for everyone.
 */
export function warnOfUntrustedProxies(
  logger: { warn(message: string): void },
  trustedProxies: readonly string[],
): void {
  if (trustedProxies.length > 0) return;
  logger.warn(
    'TRUSTED_PROXIES is empty: behind a proxy or load balancer every client has its address ' +
      'and shares one rate-limit budget; list the proxies (IPs/CIDRs) whose X-Forwarded-For to believe',
  );
}
