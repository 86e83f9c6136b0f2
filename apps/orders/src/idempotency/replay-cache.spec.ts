import { describe, expect, it } from '@jest/globals';
import type { OrdersConfig } from '../config.js';
import { ReplayCache } from './replay-cache.js';

const cacheOf = (replayCacheMb: number) =>
  new ReplayCache({ idempotency: { replayCacheMb } } as OrdersConfig);

const completed = (body = '{"id":"o1"}') => ({
  fingerprint: 'f1',
  response: { status: 201, headers: { location: '/api/v1/orders/o1' }, body },
});
const ref = { customerId: 'cus_1', key: 'k1' };
const inAnHour = () => new Date(Date.now() + 3_600_000);

describe(ReplayCache.name, () => {
  it('remembers a completed key for its customer only', () => {
    const cache = cacheOf(1);
    cache.remember(ref, completed(), inAnHour());
    expect(cache.get(ref)).toEqual(completed());
    expect(cache.get({ customerId: 'cus_2', key: 'k1' })).toBeUndefined();
  });

  it('never outlives the key itself', () => {
    const cache = cacheOf(1);
    cache.remember(ref, completed(), new Date(Date.now() - 1));
    expect(cache.get(ref)).toBeUndefined();
  });

  it('stays within its memory budget, forgetting the least recently used keys', () => {
    const cache = cacheOf(1);
    const body = 'x'.repeat(200_000); // about 200 kB an entry: five fit in 1 MB
    for (let i = 0; i < 10; i++) {
      cache.remember({ customerId: 'cus_1', key: `k${i}` }, completed(body), inAnHour());
    }
    expect(cache.get({ customerId: 'cus_1', key: 'k0' })).toBeUndefined();
    expect(cache.get({ customerId: 'cus_1', key: 'k9' })).toBeDefined();
  });

  it('remembers nothing when turned off (0 MB)', () => {
    const cache = cacheOf(0);
    cache.remember(ref, completed(), inAnHour());
    expect(cache.get(ref)).toBeUndefined();
  });
});
