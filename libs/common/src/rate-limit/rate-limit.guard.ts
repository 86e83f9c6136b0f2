import { type ExecutionContext, Injectable } from '@nestjs/common';
import type { ThrottlerRequest } from '@nestjs/throttler';
import { ThrottlerGuard } from './throttler.js';
import type { FastifyReply } from 'fastify';
import { DomainError } from '../errors.js';
import { type PolicyState, rateLimitHeaders } from './rate-limit-headers.js';

/**
 * @nestjs/throttler's guard, counting a request against every policy that applies before deciding,
 * so the response names them all (`RateLimit-Policy`, `RateLimit`, `X-RateLimit-*`), successes and
 * errors alike. Over any limit: a 429 `rate_limited` problem with `Retry-After`. gRPC is not
 * limited here (only orders' peer calls it).
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private readonly counted = new WeakMap<object, PolicyState[]>();

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (await this.shouldSkip(context)) return true;
    const { req, res } = this.getRequestResponse(context);
    const states: PolicyState[] = [];
    this.counted.set(req, states);
    await super.canActivate(context);
    void (res as FastifyReply).headers(rateLimitHeaders(states));
    const refused = states.filter((state) => state.refused);
    if (refused.length > 0) {
      const retryAfterSeconds = Math.max(...refused.map((state) => state.resetSeconds));
      throw new DomainError(
        'rate_limited',
        `Too many requests (${refused.map((s) => s.name).join(', ')}); retry in ${retryAfterSeconds} s.`,
        [],
        { retryAfterSeconds },
      );
    }
    return true;
  }

  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    return Promise.resolve(context.getType() !== 'http');
  }

  protected override async handleRequest(request: ThrottlerRequest): Promise<boolean> {
    const { context, limit, ttl, throttler, blockDuration, getTracker, generateKey } = request;
    const name = throttler.name ?? 'default';
    const { req } = this.getRequestResponse(context);
    const tracker = await getTracker(req, context);
    const record = await this.storageService.increment(
      generateKey(context, tracker, name),
      ttl,
      limit,
      blockDuration,
      name,
    );
    this.counted.get(req)?.push({
      name,
      limit,
      windowSeconds: Math.max(1, Math.ceil(ttl / 1000)),
      remaining: record.isBlocked ? 0 : Math.max(0, limit - record.totalHits),
      resetSeconds: record.isBlocked ? record.timeToBlockExpire : record.timeToExpire,
      refused: record.isBlocked,
    });
    return true;
  }
}
