import { describe, expect, it } from '@jest/globals';
import { canonicalJson, requestFingerprint } from './fingerprint.js';

describe(requestFingerprint.name, () => {
  it('ignores key order at every level', () => {
    const a = { currency: 'usd', items: [{ sku: 'A', quantity: 1 }] };
    const b = { items: [{ quantity: 1, sku: 'A' }], currency: 'usd' };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(requestFingerprint('POST', '/x', a)).toBe(requestFingerprint('post', '/x', b));
  });

  it('tells apart bodies, paths, methods and item order', () => {
    const body = { items: [{ sku: 'A' }, { sku: 'B' }] };
    const base = requestFingerprint('POST', '/x', body);
    expect(requestFingerprint('POST', '/y', body)).not.toBe(base);
    expect(requestFingerprint('PUT', '/x', body)).not.toBe(base);
    expect(requestFingerprint('POST', '/x', { items: [{ sku: 'B' }, { sku: 'A' }] })).not.toBe(
      base,
    );
    expect(requestFingerprint('POST', '/x', { items: [{ sku: 'A' }, { sku: 'C' }] })).not.toBe(
      base,
    );
  });
});
