import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { MemoryCounters, seconds } from './memory-counters.js';
import { Redis } from 'ioredis';

export interface RateLimitStoreOptions {
  /** Shared counters in this Redis; unset: counters in this process's memory. */
  redisUrl?: string;
  /** Prefix of every Redis key, so several services or deployments can share one Redis. */
  keyPrefix: string;
}

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

export const RATE_LIMIT_STORE_OPTIONS = Symbol('RATE_LIMIT_STORE_OPTIONS');

/**
 * One fixed window per key, decided atomically in Redis. KEYS: hits, block. ARGV: window (ms),
 * limit, block duration (ms). With no block duration, a refused request is not counted, so a
 * client that waits for Retry-After is served then. Returns hits, the window's ms left, refused
 * (0/1), and the ms until a retry can pass.
 */
const HIT_SCRIPT = `
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local block = tonumber(ARGV[3])
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then
  return {limit + 1, redis.call('PTTL', KEYS[1]), 1, blocked}
end
local hits = tonumber(redis.call('GET', KEYS[1]) or '0')
if hits >= limit and block <= 0 then
  local left = redis.call('PTTL', KEYS[1])
  if left < 0 then
    redis.call('PEXPIRE', KEYS[1], window)
    left = window
  end
  return {hits + 1, left, 1, left}
end
hits = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], window)
  left = window
end
if hits > limit then
  redis.call('SET', KEYS[2], '1', 'PX', block)
  return {hits, left, 1, block}
end
return {hits, left, 0, 0}
`;

type ScriptedRedis = Redis & {
  rateLimitHit(
    hitsKey: string,
    blockKey: string,
    windowMs: number,
    limit: number,
    blockMs: number,
  ): Promise<[number, number, number, number]>;
};

/**
 * The throttler's counters: in Redis when configured, so every instance shares them; in memory
 * otherwise. A Redis outage fails open to this instance's memory counters: the API stays up and
 * still limited (per instance, so up to N times the limit with N instances), and the switch is
 * logged both ways. Failing closed would turn a cache outage into a full checkout outage.
 */
@Injectable()
export class RateLimitStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger('RateLimit');
  private readonly memory = new MemoryCounters();
  private readonly redis?: ScriptedRedis;
  private degraded = false;

  constructor(@Inject(RATE_LIMIT_STORE_OPTIONS) private readonly options: RateLimitStoreOptions) {
    if (!options.redisUrl) {
      this.logger.log('Rate limits are counted in memory, per instance (REDIS_URL is not set)');
      return;
    }
    this.redis = new Redis(options.redisUrl, {
      // Fail fast instead of queueing: a request must not wait for Redis to come back.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 250,
      connectTimeout: 2_000,
      // ioredis otherwise keeps the process 2 s on shutdown after a failed connection.
      disconnectTimeout: 200,
    }) as ScriptedRedis;
    this.redis.defineCommand('rateLimitHit', { numberOfKeys: 2, lua: HIT_SCRIPT });
    this.redis.on('error', (error: Error) => this.fallBack(error));
    this.redis.on('ready', () => this.recovered());
    this.logger.log('Rate limits are counted in Redis, shared by every instance');
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
  ): Promise<ThrottlerStorageRecord> {
    if (!this.redis) return this.memory.increment(key, ttl, limit, blockDuration);
    const base = `${this.options.keyPrefix}{${key}}`;
    try {
      const [hits, leftMs, refused, retryMs] = await this.redis.rateLimitHit(
        `${base}:hits`,
        `${base}:block`,
        ttl,
        limit,
        blockDuration,
      );
      this.recovered();
      return {
        totalHits: hits,
        timeToExpire: seconds(leftMs),
        isBlocked: refused === 1,
        timeToBlockExpire: refused === 1 ? seconds(retryMs) : 0,
      };
    } catch (error) {
      this.fallBack(error as Error);
      return this.memory.increment(key, ttl, limit, blockDuration);
    }
  }

  onApplicationShutdown(): void {
    this.memory.close();
    this.redis?.disconnect();
  }

  private fallBack(error: Error): void {
    if (this.degraded) return;
    this.degraded = true;
    this.logger.error(
      `Redis is unavailable for rate limiting (${error.message}): failing open to per-instance ` +
        'memory counters until it is back',
    );
  }

  private recovered(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.logger.log('Redis is reachable again: rate-limit counters are shared again');
  }
}
