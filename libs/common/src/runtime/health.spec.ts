import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { READINESS_REUSE_MS, readiness, sharedCheck } from './health.js';
import { ServingState } from './shutdown.js';

/** A check whose runs the test settles by hand, counting them. */
function controlledCheck() {
  const runs: { resolve: (value: string) => void; reject: (error: Error) => void }[] = [];
  const check = () =>
    new Promise<string>((resolve, reject) => {
      runs.push({ resolve, reject });
    });
  return { check, runs };
}

describe(sharedCheck.name, () => {
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('runs the check once for callers that arrive while it is in flight', async () => {
    const { check, runs } = controlledCheck();
    const shared = sharedCheck(check);
    const answers = Promise.all(Array.from({ length: 100 }, () => shared()));
    expect(runs).toHaveLength(1);
    runs[0].resolve('up');
    expect(await answers).toEqual(Array(100).fill('up'));
  });

  it('reuses an outcome until the window after it settled has passed, then checks again', async () => {
    const { check, runs } = controlledCheck();
    const shared = sharedCheck(check);
    const first = shared();
    // A slow check: the window starts when it settles, not when it started.
    jest.advanceTimersByTime(5_000);
    runs[0].resolve('first');
    await first;
    jest.advanceTimersByTime(READINESS_REUSE_MS - 1);
    expect(await shared()).toBe('first');
    expect(runs).toHaveLength(1);
    jest.advanceTimersByTime(1);
    const second = shared();
    expect(runs).toHaveLength(2);
    runs[1].resolve('second');
    expect(await second).toBe('second');
  });

  it('reuses a failure for the window too, and recovers once a later check succeeds', async () => {
    const { check, runs } = controlledCheck();
    const shared = sharedCheck(check);
    const failed = shared();
    runs[0].reject(new Error('database down'));
    await expect(failed).rejects.toThrow('database down');
    await expect(shared()).rejects.toThrow('database down');
    expect(runs).toHaveLength(1);
    jest.advanceTimersByTime(READINESS_REUSE_MS);
    const recovered = shared();
    runs[1].resolve('up');
    expect(await recovered).toBe('up');
  });

  it('turns a check that throws at once into a shared failure', async () => {
    let calls = 0;
    const shared = sharedCheck<string>(() => {
      calls += 1;
      throw new Error('no connection');
    });
    await expect(shared()).rejects.toThrow('no connection');
    await expect(shared()).rejects.toThrow('no connection');
    expect(calls).toBe(1);
  });
});

describe(readiness.name, () => {
  it('answers states and counts without the timings terminus adds to each check', async () => {
    const database = { status: 'up' as const, responseTime: 3 };
    const outbox = { status: 'up' as const, pending: 2, responseTime: 5 };
    const result = await readiness(new ServingState(), () =>
      Promise.resolve({
        status: 'ok',
        info: { database, outbox },
        error: {},
        details: { database: { ...database }, outbox: { ...outbox } },
      }),
    );
    expect(result).toEqual({
      status: 'ok',
      info: { database: { status: 'up' }, outbox: { status: 'up', pending: 2 } },
      error: {},
      details: { database: { status: 'up' }, outbox: { status: 'up', pending: 2 } },
    });
  });
});
