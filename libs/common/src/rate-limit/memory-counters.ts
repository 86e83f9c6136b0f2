import type { ThrottlerStorage } from '@nestjs/throttler';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

interface Window {
  hits: number;
  /** When the window ends (ms since the epoch). */
  endsAt: number;
  /** Until when the key is refused after going over its limit with a block duration. */
  blockedUntil: number;
}

/** How often windows that have ended are forgotten. */
const SWEEP_INTERVAL_MS = 60_000;

/**
 * Per-instance rate-limit counters with the same fixed-window rules as the Redis script (see
 * RateLimitStorage), in O(1) per request. @nestjs/throttler's own memory store keeps every hit's
 * expiry and filters that list on each request: its cost and memory grow with the limit.
 */
export class MemoryCounters {
  private readonly windows = new Map<string, Window>();
  private sweeper?: NodeJS.Timeout;

  increment(key: string, windowMs: number, limit: number, blockMs: number): ThrottlerStorageRecord {
    this.sweeper ??= setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();
    const now = Date.now();
    let window = this.windows.get(key);
    if (!window || (window.endsAt <= now && window.blockedUntil <= now)) {
      window = { hits: 0, endsAt: now + windowMs, blockedUntil: 0 };
      this.windows.set(key, window);
    } else if (window.endsAt <= now) {
      window.hits = 0;
      window.endsAt = now + windowMs;
    }
    if (window.blockedUntil > now) {
      return refused(limit + 1, window.endsAt - now, window.blockedUntil - now);
    }
    if (window.hits >= limit && blockMs <= 0) {
      return refused(window.hits + 1, window.endsAt - now, window.endsAt - now);
    }
    window.hits++;
    if (window.hits > limit) {
      window.blockedUntil = now + blockMs;
      return refused(window.hits, window.endsAt - now, blockMs);
    }
    return {
      totalHits: window.hits,
      timeToExpire: seconds(window.endsAt - now),
      isBlocked: false,
      timeToBlockExpire: 0,
    };
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, window] of this.windows) {
      if (window.endsAt <= now && window.blockedUntil <= now) this.windows.delete(key);
    }
  }
}

function refused(hits: number, leftMs: number, retryMs: number): ThrottlerStorageRecord {
  return {
    totalHits: hits,
    timeToExpire: seconds(leftMs),
    isBlocked: true,
    timeToBlockExpire: seconds(retryMs),
  };
}

/** Whole seconds, at least 1 (as RateLimit-Reset and Retry-After are). */
export function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
