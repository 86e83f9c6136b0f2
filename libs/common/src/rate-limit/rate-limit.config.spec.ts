import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { ConfigError, env, loadConfig } from '../config/config.js';

const schema = z.object({ TRUSTED_PROXIES: env.ipList(), REDIS_URL: env.redisUrl() });
const load = (environment: NodeJS.ProcessEnv) => loadConfig(schema, environment);

describe('rate-limit configuration', () => {
  it('trusts no proxy by default', () => {
    expect(load({}).TRUSTED_PROXIES).toEqual([]);
  });

  it('reads trusted proxies as IPs and CIDR ranges', () => {
    expect(load({ TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1,::1,fd00::/8' }).TRUSTED_PROXIES).toEqual(
      ['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8'],
    );
  });

  it.each(['10.0.0.0/33', 'proxy.internal', '10.0.0.1/8/1', '*'])(
    'refuses the trusted proxy %s, naming the variable',
    (value) => {
      expect(() => load({ TRUSTED_PROXIES: value })).toThrow(/TRUSTED_PROXIES: must be/);
    },
  );

  it('refuses a REDIS_URL that is not redis:// without echoing it', () => {
    const error = (() => {
      try {
        load({ REDIS_URL: 'http://user:s3cret@cache:6379' });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('accepted');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(error.message).not.toContain('s3cret');
  });
});
