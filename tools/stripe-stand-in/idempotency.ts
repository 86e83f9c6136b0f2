import type { FormValue } from './form.js';

export interface SavedResponse {
  status: number;
  body: string;
  requestId: string;
}

export type Claim =
  | { outcome: 'claimed'; save(response: SavedResponse): void; release(): void }
  | { outcome: 'replay'; response: SavedResponse }
  | { outcome: 'in_use' }
  | { outcome: 'endpoint_mismatch'; endpoint: string }
  | { outcome: 'params_mismatch' };

interface Entry {
  endpoint: string;
  fingerprint: string;
  createdAt: number;
  response?: SavedResponse;
}

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Stripe's idempotency layer: the first request with a key claims it, and a finished result is
 * replayed to every later request that has the same endpoint and parameters. Keys are scoped to
 * the caller (API key and account) and forgotten after 24 hours.
 */
export class IdempotencyStore {
  // Insertion order is claim order, so expired entries are always at the front.
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  claim(scope: string, key: string, endpoint: string, params: FormValue): Claim {
    this.evictExpired();
    const id = JSON.stringify([scope, key]);
    const fingerprint = canonical(params);
    const entry = this.entries.get(id);
    if (entry) {
      if (!entry.response) return { outcome: 'in_use' };
      if (entry.endpoint !== endpoint)
        return { outcome: 'endpoint_mismatch', endpoint: entry.endpoint };
      if (entry.fingerprint !== fingerprint) return { outcome: 'params_mismatch' };
      return { outcome: 'replay', response: entry.response };
    }
    const claimed: Entry = { endpoint, fingerprint, createdAt: this.now() };
    this.entries.set(id, claimed);
    return {
      outcome: 'claimed',
      save: (response) => {
        claimed.response = response;
      },
      release: () => {
        if (this.entries.get(id) === claimed) this.entries.delete(id);
      },
    };
  }

  clear(): void {
    this.entries.clear();
  }

  private evictExpired(): void {
    const cutoff = this.now() - IDEMPOTENCY_TTL_MS;
    for (const [id, entry] of this.entries) {
      if (entry.createdAt > cutoff) break;
      this.entries.delete(id);
    }
  }
}

/** Parameters compare by value: hash key order does not make a request different. */
function canonical(value: FormValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(',')}}`;
}
