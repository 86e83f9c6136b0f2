import { describe, expect, it } from '@jest/globals';
import { IDEMPOTENCY_TTL_MS, IdempotencyStore, type Claim } from './idempotency.js';

const response = { status: 200, body: '{"id":"pi_1"}', requestId: 'req_1' };

function claimed(claim: Claim): Extract<Claim, { outcome: 'claimed' }> {
  if (claim.outcome !== 'claimed') throw new Error(`expected a new claim, got ${claim.outcome}`);
  return claim;
}

describe('IdempotencyStore', () => {
  it('replays a saved response for the same endpoint and parameters', () => {
    const store = new IdempotencyStore();
    claimed(store.claim('sk', 'k', 'POST /v1/x', { a: '1', b: { c: '2', d: '3' } })).save(response);
    // Hash key order is not significant.
    expect(store.claim('sk', 'k', 'POST /v1/x', { b: { d: '3', c: '2' }, a: '1' })).toEqual({
      outcome: 'replay',
      response,
    });
  });

  it('rejects other parameters or another endpoint under a used key', () => {
    const store = new IdempotencyStore();
    claimed(store.claim('sk', 'k', 'POST /v1/x', { a: '1' })).save(response);
    expect(store.claim('sk', 'k', 'POST /v1/x', { a: '2' }).outcome).toBe('params_mismatch');
    expect(store.claim('sk', 'k', 'POST /v1/x', { a: ['1'] }).outcome).toBe('params_mismatch');
    expect(store.claim('sk', 'k', 'POST /v1/y', { a: '1' })).toEqual({
      outcome: 'endpoint_mismatch',
      endpoint: 'POST /v1/x',
    });
  });

  it('reports a key in use until the first request finishes', () => {
    const store = new IdempotencyStore();
    const first = claimed(store.claim('sk', 'k', 'POST /v1/x', {}));
    expect(store.claim('sk', 'k', 'POST /v1/x', {}).outcome).toBe('in_use');
    first.save(response);
    expect(store.claim('sk', 'k', 'POST /v1/x', {}).outcome).toBe('replay');
  });

  it('frees a released key for a fresh attempt', () => {
    const store = new IdempotencyStore();
    claimed(store.claim('sk', 'k', 'POST /v1/x', { a: '1' })).release();
    expect(store.claim('sk', 'k', 'POST /v1/x', { a: '2' }).outcome).toBe('claimed');
  });

  it('scopes keys to the caller', () => {
    const store = new IdempotencyStore();
    claimed(store.claim('sk_a', 'k', 'POST /v1/x', { a: '1' })).save(response);
    expect(store.claim('sk_b', 'k', 'POST /v1/x', { a: '2' }).outcome).toBe('claimed');
  });

  it('forgets keys after 24 hours', () => {
    let now = 1_000_000;
    const store = new IdempotencyStore(() => now);
    claimed(store.claim('sk', 'k', 'POST /v1/x', { a: '1' })).save(response);
    now += IDEMPOTENCY_TTL_MS - 1;
    expect(store.claim('sk', 'k', 'POST /v1/x', { a: '2' }).outcome).toBe('params_mismatch');
    now += 1;
    expect(store.claim('sk', 'k', 'POST /v1/x', { a: '2' }).outcome).toBe('claimed');
  });
});
