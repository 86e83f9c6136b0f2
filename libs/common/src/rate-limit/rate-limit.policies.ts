import { type ExecutionContext, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ThrottlerModuleOptions, ThrottlerStorage } from '@nestjs/throttler';
import { normalizeIp } from './throttler.js';
import type { FastifyRequest } from 'fastify';

/** A named quota: `limit` requests per `windowMs`, per tracker (a customer, a client address). */
export interface RateLimitPolicy {
  name: string;
  limit: number;
  windowMs: number;
  /** Counts on every route not marked with @RateLimitPolicies; otherwise only where named. */
  everywhere: boolean;
  /** Whose bucket a request counts against. */
  tracker: (request: FastifyRequest) => string | Promise<string>;
}

const POLICIES = 'rate-limit:policies';

/** The policies a route (or controller) counts against, instead of the `everywhere` ones. */
export const RateLimitPolicies = (...names: string[]) => SetMetadata(POLICIES, names);

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

/** @nestjs/throttler options for the policies: one named throttler each, counted in `storage`. */
export function throttlerOptions(
  policies: readonly RateLimitPolicy[],
  storage: ThrottlerStorage,
): ThrottlerModuleOptions {
  const reflector = new Reflector();
  const appliesTo = (policy: RateLimitPolicy, context: ExecutionContext) => {
    const named = reflector.getAllAndOverride<string[] | undefined>(POLICIES, [
      context.getHandler(),
      context.getClass(),
    ]);
    return named ? named.includes(policy.name) : policy.everywhere;
  };
  return {
    storage,
    // One budget per policy and tracker across all routes, not per route.
    generateKey: (_context, tracker, name) => `${name}:${tracker}`,
    throttlers: policies.map((policy) => ({
      name: policy.name,
      limit: policy.limit,
      ttl: policy.windowMs,
      blockDuration: 0,
      getTracker: (request) => policy.tracker(request as FastifyRequest),
      skipIf: (context) => !appliesTo(policy, context),
    })),
  };
}
