/** How one rate-limit policy stands for the current request. */
export interface PolicyState {
  /** The policy's name, as in `RateLimit-Policy` (e.g. `checkout`). */
  name: string;
  /** Requests allowed per window. */
  limit: number;
  windowSeconds: number;
  /** Requests left in the current window (0 when refused). */
  remaining: number;
  /** Seconds until the quota is available again. */
  resetSeconds: number;
  /** The request was over this policy's limit. */
  refused: boolean;
}

/**
 * The response fields for the policies a request was counted against: the IETF fields of
 * draft-ietf-httpapi-ratelimit-headers (one item per policy) and the de-facto `X-RateLimit-*`
 * trio, which can name only one policy and so reports the tightest (fewest requests left, then
 * the longest wait).
 */
export function rateLimitHeaders(states: readonly PolicyState[]): Record<string, string> {
  if (states.length === 0) return {};
  const tightest = states.reduce((a, b) =>
    b.remaining < a.remaining || (b.remaining === a.remaining && b.resetSeconds > a.resetSeconds)
      ? b
      : a,
  );
  return {
    'RateLimit-Policy': states
      .map((s) => `${policyName(s.name)};q=${s.limit};w=${s.windowSeconds}`)
      .join(', '),
    RateLimit: states
      .map((s) => `${policyName(s.name)};r=${s.remaining};t=${s.resetSeconds}`)
      .join(', '),
    'X-RateLimit-Limit': String(tightest.limit),
    'X-RateLimit-Remaining': String(tightest.remaining),
    'X-RateLimit-Reset': String(tightest.resetSeconds),
  };
}

/** A Structured Fields string (RFC 9651); policy names are ours, so only `"` and `\` need care. */
function policyName(name: string): string {
  return `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
