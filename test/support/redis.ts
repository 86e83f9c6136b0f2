import { Redis } from 'ioredis';

/** The Redis the Redis-backed tests use: TEST_REDIS_URL, else the local default. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Whether a Redis answers PING at `url`. */
export async function redisAnswers(url: string): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    retryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/** Set in CI (`CI=true`, as CI services set it), unset or `false` elsewhere. */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return !['', '0', 'false'].includes((env.CI ?? '').trim().toLowerCase());
}

/**
 * Whether the Redis-backed tests run. Without a Redis they skip, by name, on a developer's machine;
 * in CI, which has one (.ci/run sets TEST_REDIS_URL), a Redis that does not answer fails them
 * instead, so that they cannot quietly stop running.
 */
export async function redisForTests(
  url = TEST_REDIS_URL,
  env: NodeJS.ProcessEnv = process.env,
): Promise<boolean> {
  if (await redisAnswers(url)) return true;
  if (inCi(env)) {
    throw new Error(
      `CI is set but no Redis answers at ${new URL(url).host} (TEST_REDIS_URL): ` +
        'the Redis-backed tests must run in CI',
    );
  }
  return false;
}
