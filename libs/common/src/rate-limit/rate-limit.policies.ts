import type { FastifyRequest } from 'fastify';
import type { DomainError } from '../errors.js';
import { mergeRouteConfig, routeConfigOf } from '../http/route-config.js';
import { normalizeIp } from './throttler.js';

/** A named quota: `limit` requests per `windowMs`, per tracker (a customer, a client address). */
export interface RateLimitPolicy {
  name: string;
  limit: number;
  windowMs: number;
  /**
   * Counts on every route not marked with @RateLimitPolicies (and on unrouted paths); otherwise
   * only where named.
   */
  everywhere: boolean;
  /**
   * `requests`: every request counts, before its body is read. `failures`: only requests that
   * fail the route's credential check count (see `checkHeaders` and RateLimiter.refuseFailure);
   * over the limit those failures answer 429. A request that passes the check is never counted
   * nor refused by such a policy, so forged traffic cannot spend a genuine caller's budget.
   */
  counts: 'requests' | 'failures';
  /** Whose bucket a request counts against. */
  tracker: (request: FastifyRequest) => string | Promise<string>;
  /**
   * For a `failures` policy: what the headers alone already refuse (a missing or wrong API key, a
   * malformed or stale signature header), checked before the body is read. The refusal counts as
   * a failure and is answered at once.
   */
  checkHeaders?: (request: FastifyRequest) => DomainError | undefined;
}

/**
 * The policies a route (method) or every route of a controller (class) counts against, instead
 * of the `everywhere` ones; a method's own list wins over its class's. The names travel in the
 * Fastify route's `config`, so the limits can be decided in an `onRequest` hook, before the
 * body is read (Nest guards run only after it is parsed).
 */
export function RateLimitPolicies(...names: string[]): ClassDecorator & MethodDecorator {
  return (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor) {
      mergeRouteConfig(descriptor.value as object, { rateLimitPolicies: names });
      return;
    }
    const prototype = (target as { prototype: Record<string, unknown> }).prototype;
    for (const key of Object.getOwnPropertyNames(prototype)) {
      const method = key === 'constructor' ? undefined : prototype[key];
      if (typeof method !== 'function') continue;
      const config = routeConfigOf(method);
      if (!('rateLimitPolicies' in config)) mergeRouteConfig(method, { rateLimitPolicies: names });
    }
  };
}

/** Routes no policy applies to (health probes). */
export const SkipRateLimit = () => RateLimitPolicies();

/**
 * The client's address as Fastify resolved it (the peer, or the first untrusted hop of
 * `X-Forwarded-For` when trusted proxies are configured). IPv6 clients are grouped by /64, as one
 * host usually owns the whole subnet.
 */
export function clientAddress(request: FastifyRequest): string {
  return `ip:${normalizeIp(request.ip)}`;
}
