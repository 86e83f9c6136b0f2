import { describe, expect, it } from '@jest/globals';
import { freePort } from '#testing/ports.js';
import { inCi, redisForTests } from './redis.js';

describe(redisForTests.name, () => {
  it('fails in CI when no Redis answers, so the Redis-backed tests cannot quietly skip there', async () => {
    const nobody = `redis://127.0.0.1:${await freePort()}`;
    await expect(redisForTests(nobody, { CI: 'true' })).rejects.toThrow(
      /CI is set but no Redis answers at 127\.0\.0\.1:\d+/,
    );
  });

  it('lets them skip on a machine without Redis outside CI', async () => {
    const nobody = `redis://127.0.0.1:${await freePort()}`;
    expect(await redisForTests(nobody, {})).toBe(false);
    expect(await redisForTests(nobody, { CI: 'false' })).toBe(false);
  });
});

describe(inCi.name, () => {
  it.each([
    [{ CI: 'true' }, true],
    [{ CI: '1' }, true],
    [{ CI: 'TRUE' }, true],
    [{ CI: 'false' }, false],
    [{ CI: '0' }, false],
    [{ CI: '' }, false],
    [{}, false],
  ])('%j: %s', (env, expected) => {
    expect(inCi(env)).toBe(expected);
  });
});
