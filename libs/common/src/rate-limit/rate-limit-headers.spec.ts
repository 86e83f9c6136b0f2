import { describe, expect, it } from '@jest/globals';
import { rateLimitHeaders } from './rate-limit-headers.js';

const state = (name: string, limit: number, remaining: number, resetSeconds: number) => ({
  name,
  limit,
  windowSeconds: 60,
  remaining,
  resetSeconds,
  refused: remaining === 0,
});

describe(rateLimitHeaders.name, () => {
  it('lists every policy in the IETF fields, in the order counted', () => {
    const headers = rateLimitHeaders([
      state('default', 120, 80, 30),
      state('checkout', 20, 19, 42),
    ]);
    expect(headers['RateLimit-Policy']).toBe('"default";q=120;w=60, "checkout";q=20;w=60');
    expect(headers.RateLimit).toBe('"default";r=80;t=30, "checkout";r=19;t=42');
  });

  it('reports the policy with the fewest requests left in X-RateLimit-*, then the longest wait', () => {
    const headers = rateLimitHeaders([
      state('default', 120, 0, 10),
      state('checkout', 20, 0, 42),
      state('other', 5, 3, 50),
    ]);
    expect(headers).toMatchObject({
      'X-RateLimit-Limit': '20',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': '42',
    });
  });

  it('sets nothing when no policy applied', () => {
    expect(rateLimitHeaders([])).toEqual({});
  });
});
