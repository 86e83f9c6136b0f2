import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { ORDERS_CONFIG, type OrdersConfig } from '../config.js';
import type { StoredResponse } from './idempotency-record.entity.js';
import type { KeyRef } from './idempotency.repository.js';

/** A completed key: the request it belongs to and the response every repeat gets. */
export interface CompletedKey {
  fingerprint: string;
  response: StoredResponse;
}

/** Retries come within seconds or minutes of the request; older keys are read from the table. */
const MAX_AGE_MS = 60 * 60_000;

/**
 * The most recently completed idempotency keys of this instance, so that a retry storm is answered
 * from memory instead of a database round trip each. Sound because a completed key never changes:
 * its stored response is final until the key expires, and an entry lives no longer than its key
 * (nor than MAX_AGE_MS). In-flight and released keys are never cached: every decision about them
 * stays one SQL statement. Bounded in bytes (IDEMPOTENCY_REPLAY_CACHE_MB, default 16: about a
 * minute of checkouts at this machine's peak rate, a checkout's key taking about 1 kB; 0 turns it
 * off).
 */
@Injectable()
export class ReplayCache {
  private readonly entries?: LRUCache<string, CompletedKey>;

  constructor(@Inject(ORDERS_CONFIG) config: OrdersConfig) {
    const maxSize = config.idempotency.replayCacheMb * 2 ** 20;
    if (maxSize > 0) {
      this.entries = new LRUCache({
        maxSize,
        // V8 keeps these ASCII strings at a byte a character; plus the entry's own overhead.
        sizeCalculation: (entry, key) =>
          key.length +
          entry.fingerprint.length +
          entry.response.body.length +
          JSON.stringify(entry.response.headers).length +
          200,
      });
    }
  }

  get(ref: KeyRef): CompletedKey | undefined {
    return this.entries?.get(cacheKey(ref));
  }

  /** Remembers a completed key until `expiresAt` (the key's own expiry), at most MAX_AGE_MS. */
  remember(ref: KeyRef, completed: CompletedKey, expiresAt: Date): void {
    const ttl = Math.min(expiresAt.getTime() - Date.now(), MAX_AGE_MS);
    if (this.entries && ttl > 0) this.entries.set(cacheKey(ref), completed, { ttl });
  }
}

const cacheKey = (ref: KeyRef) => `${ref.customerId}\n${ref.key}`;
