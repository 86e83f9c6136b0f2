import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { REFUSAL_LOG_WINDOW_MS, RefusalLog } from './refusal-log.js';

const UNKNOWN = 'unknown service credential';
const NONE = 'no service credential';

function capture(options?: { windowMs: number; maxPeers: number }) {
  const lines: string[] = [];
  const log = new RefusalLog({ warn: (message: string) => void lines.push(message) }, options);
  return { log, lines };
}

describe(RefusalLog.name, () => {
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('logs the first refusal from an address at once and the rest as one line when the window ends', () => {
    const { log, lines } = capture();
    log.refused('10.0.0.7', UNKNOWN, 'first call from 10.0.0.7:50001');
    for (let i = 0; i < 998; i++) log.refused('10.0.0.7', UNKNOWN, `call ${i}`);
    log.refused('10.0.0.7', NONE, 'last call');
    expect(lines).toEqual(['first call from 10.0.0.7:50001']);

    jest.advanceTimersByTime(REFUSAL_LOG_WINDOW_MS - 1);
    expect(lines).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(lines).toEqual([
      'first call from 10.0.0.7:50001',
      'refused 999 more gRPC calls from 10.0.0.7 in the last 60 s ' +
        `(${UNKNOWN}: 998, ${NONE}: 1)`,
    ]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('logs a refusal at once again in the next window, and no summary for a window without more', () => {
    const { log, lines } = capture();
    log.refused('::1', NONE, 'first window');
    jest.advanceTimersByTime(REFUSAL_LOG_WINDOW_MS);
    expect(lines).toEqual(['first window']);
    log.refused('::1', NONE, 'second window');
    expect(lines).toEqual(['first window', 'second window']);
  });

  it('tracks at most maxPeers addresses and counts the refusals from any others together', () => {
    const { log, lines } = capture({ windowMs: 10_000, maxPeers: 2 });
    for (let peer = 1; peer <= 5; peer++) {
      for (let call = 0; call < 10; call++)
        log.refused(`10.0.0.${peer}`, UNKNOWN, `10.0.0.${peer}`);
    }
    jest.advanceTimersByTime(10_000);
    expect(lines).toEqual([
      '10.0.0.1',
      '10.0.0.2',
      'refusing calls from more than 2 addresses: counting the refusals from the others together',
      `refused 9 more gRPC calls from 10.0.0.1 in the last 10 s (${UNKNOWN}: 9)`,
      `refused 9 more gRPC calls from 10.0.0.2 in the last 10 s (${UNKNOWN}: 9)`,
      `refused 30 gRPC calls from addresses beyond the first 2 in the last 10 s (${UNKNOWN}: 30)`,
    ]);
  });

  it('logs what it has counted when flushed at shutdown, and leaves no timer behind', () => {
    const { log, lines } = capture();
    log.refused('10.0.0.7', NONE, 'first');
    log.refused('10.0.0.7', NONE, 'second');
    jest.advanceTimersByTime(3_000);
    log.flush();
    expect(lines).toEqual([
      'first',
      `refused 1 more gRPC calls from 10.0.0.7 in the last 3 s (${NONE}: 1)`,
    ]);
    expect(jest.getTimerCount()).toBe(0);
    log.flush();
    expect(lines).toHaveLength(2);
  });
});
