import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { MemoryCounters } from './memory-counters.js';

describe(MemoryCounters.name, () => {
  let counters: MemoryCounters;

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    counters = new MemoryCounters();
  });

  afterEach(() => {
    counters.close();
    jest.useRealTimers();
  });

  it('counts hits up to the limit, then refuses until the window ends without counting refusals', () => {
    expect(counters.increment('a', 60_000, 2, 0)).toEqual({
      totalHits: 1,
      timeToExpire: 60,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
    expect(counters.increment('a', 60_000, 2, 0).isBlocked).toBe(false);
    jest.advanceTimersByTime(20_000);
    expect(counters.increment('a', 60_000, 2, 0)).toEqual({
      totalHits: 3,
      timeToExpire: 40,
      isBlocked: true,
      timeToBlockExpire: 40,
    });
    expect(counters.increment('a', 60_000, 2, 0).totalHits).toBe(3);
  });

  it('starts a new window once the old one has ended', () => {
    counters.increment('a', 1_000, 1, 0);
    expect(counters.increment('a', 1_000, 1, 0).isBlocked).toBe(true);
    jest.advanceTimersByTime(1_000);
    expect(counters.increment('a', 1_000, 1, 0)).toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('keeps keys apart', () => {
    counters.increment('a', 60_000, 1, 0);
    expect(counters.increment('a', 60_000, 1, 0).isBlocked).toBe(true);
    expect(counters.increment('b', 60_000, 1, 0).isBlocked).toBe(false);
  });

  it('blocks for the block duration after the limit is exceeded, even past the window', () => {
    counters.increment('a', 1_000, 1, 5_000);
    expect(counters.increment('a', 1_000, 1, 5_000)).toMatchObject({
      isBlocked: true,
      timeToBlockExpire: 5,
    });
    jest.advanceTimersByTime(2_000);
    expect(counters.increment('a', 1_000, 1, 5_000)).toMatchObject({
      isBlocked: true,
      timeToBlockExpire: 3,
    });
    jest.advanceTimersByTime(3_000);
    expect(counters.increment('a', 1_000, 1, 5_000)).toMatchObject({
      totalHits: 1,
      isBlocked: false,
    });
  });
});
