import { Inject, Injectable } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../errors.js';
import { closeIfBodyPending } from '../http/server.js';
import { sendProblem } from '../http/problem.filter.js';
import { type PolicyState, rateLimitHeaders } from './rate-limit-headers.js';
import { type RateLimitPolicy } from './rate-limit.policies.js';
import { RateLimitStorage } from './rate-limit.storage.js';

export const RATE_LIMIT_POLICIES = Symbol('RATE_LIMIT_POLICIES');

/**
 * Decides every HTTP request's rate limits in an `onRequest` hook, before the body is read, so a
 * refusal costs no parsing. A request counts against every policy that applies before the
 * decision, so the response names them all (`RateLimit-Policy`, `RateLimit`, `X-RateLimit-*`),
 * successes and errors alike; over any limit it is a 429 `rate_limited` problem with
 * `Retry-After`. Unrouted paths count against the `everywhere` policies. gRPC is not limited here
 * (its callers present service credentials).
 */
@Injectable()
export class RateLimiter {
  private readonly byName: ReadonlyMap<string, RateLimitPolicy>;
  private readonly everywhere: readonly RateLimitPolicy[];

  constructor(
    @Inject(RATE_LIMIT_POLICIES) policies: readonly RateLimitPolicy[],
    private readonly storage: RateLimitStorage,
  ) {
    this.byName = new Map(policies.map((policy) => [policy.name, policy]));
    this.everywhere = policies.filter((policy) => policy.everywhere);
  }

  /** Counts the request against its route's policies; the refusal to answer with, if any. */
  async admit(request: FastifyRequest, reply: FastifyReply): Promise<DomainError | undefined> {
    // A CORS preflight is answered from configuration alone; the request it announces counts.
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) return;
    const policies = this.policiesOf(request);
    if (policies.length === 0) return;
    const counted: Promise<PolicyState>[] = [];
    for (const policy of policies) {
      if (policy.counts === 'requests') {
        counted.push(this.hit(policy, request));
        continue;
      }
      const refused = policy.checkHeaders?.(request);
      if (refused) return (await this.refuseFailure(request, reply, policy.name)) ?? refused;
    }
    return this.decide(reply, await Promise.all(counted));
  }

  /**
   * Counts a request that failed its route's credential check against the route's `failures`
   * policy `name`; the 429 to answer instead of the failure itself once over the limit.
   */
  async refuseFailure(
    request: FastifyRequest,
    reply: FastifyReply,
    name: string,
  ): Promise<DomainError | undefined> {
    const policy = this.byName.get(name);
    if (!policy) throw new Error(`Unknown rate-limit policy ${name}`);
    return this.decide(reply, [await this.hit(policy, request)]);
  }

  private policiesOf(request: FastifyRequest): readonly RateLimitPolicy[] {
    const names = request.routeOptions.config?.rateLimitPolicies;
    if (!names) return this.everywhere;
    return names.map((name) => {
      const policy = this.byName.get(name);
      if (!policy) throw new Error(`Unknown rate-limit policy ${name}`);
      return policy;
    });
  }

  private async hit(policy: RateLimitPolicy, request: FastifyRequest): Promise<PolicyState> {
    const { name, limit, windowMs } = policy;
    const tracker = await policy.tracker(request);
    // One budget per policy and tracker across all routes, not per route.
    const record = await this.storage.increment(`${name}:${tracker}`, windowMs, limit, 0);
    return {
      name,
      limit,
      windowSeconds: Math.max(1, Math.ceil(windowMs / 1000)),
      remaining: record.isBlocked ? 0 : Math.max(0, limit - record.totalHits),
      resetSeconds: record.isBlocked ? record.timeToBlockExpire : record.timeToExpire,
      refused: record.isBlocked,
    };
  }

  private decide(reply: FastifyReply, states: PolicyState[]): DomainError | undefined {
    if (states.length === 0) return undefined;
    void reply.headers(rateLimitHeaders(states));
    const refused = states.filter((state) => state.refused);
    if (refused.length === 0) return undefined;
    const retryAfterSeconds = Math.max(...refused.map((state) => state.resetSeconds));
    return new DomainError(
      'rate_limited',
      `Too many requests (${refused.map((s) => s.name).join(', ')}); retry in ${retryAfterSeconds} s.`,
      [],
      { retryAfterSeconds },
    );
  }
}

/**
 * Installs the RateLimiter as an `onRequest` hook. Call it after configureHttp, so that refusals
 * carry the security headers too.
 */
export function useRateLimits(app: NestFastifyApplication): void {
  const limiter = app.get(RateLimiter);
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', async (request, reply) => {
      const refusal = await limiter.admit(request, reply);
      if (!refusal) return;
      closeIfBodyPending(request, reply);
      sendProblem(reply, refusal, request.url);
      return reply;
    });
}
