import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../config/config.js';
import {
  connectionsCheckingInterval,
  defaultMaxConnections,
  httpLimits,
  httpLimitVariables,
  openFileLimit,
  refineHttpLimits,
} from './limits.js';

const schema = z.object(httpLimitVariables).superRefine(refineHttpLimits);
const load = (environment: NodeJS.ProcessEnv, fileLimit?: number) =>
  httpLimits(loadConfig(schema, environment), fileLimit);

function problems(environment: NodeJS.ProcessEnv): string[] {
  try {
    load(environment);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

const PROC_LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

describe('HTTP limits (configuration)', () => {
  it('defaults to timeouts a proxy in front does not contradict', () => {
    expect(load({}, 20_000)).toEqual({
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 15_000,
      keepAliveTimeoutMs: 65_000,
      maxConnections: 10_000,
      maxConnectionsSource: 'open-file limit of 20000, 256 reserved, at most 10000',
    });
  });

  it('takes configured values, the connection cap over the open-file limit', () => {
    const limits = load(
      {
        HTTP_REQUEST_TIMEOUT_MS: '5000',
        HTTP_HEADERS_TIMEOUT_MS: '5000',
        HTTP_KEEP_ALIVE_TIMEOUT_MS: '75000',
        HTTP_MAX_CONNECTIONS: '50000',
      },
      1024,
    );
    expect(limits).toEqual({
      requestTimeoutMs: 5000,
      headersTimeoutMs: 5000,
      keepAliveTimeoutMs: 75_000,
      maxConnections: 50_000,
      maxConnectionsSource: 'HTTP_MAX_CONNECTIONS',
    });
  });

  it.each([
    ['HTTP_REQUEST_TIMEOUT_MS', '0', 'must be positive'],
    ['HTTP_HEADERS_TIMEOUT_MS', '1.5', 'must be an integer'],
    ['HTTP_KEEP_ALIVE_TIMEOUT_MS', 'a minute', 'must be of type number'],
    ['HTTP_MAX_CONNECTIONS', '-1', 'must be positive'],
  ])('refuses %s=%s, naming it', (name, value, message) => {
    expect(problems({ [name]: value })).toEqual([`${name}: ${message}`]);
  });

  it('refuses a headers timeout longer than the request timeout', () => {
    expect(
      problems({ HTTP_REQUEST_TIMEOUT_MS: '10000', HTTP_HEADERS_TIMEOUT_MS: '10001' }),
    ).toEqual([
      'HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS (the request includes its headers)',
    ]);
  });

  it('checks the timeouts every tenth of the shorter one', () => {
    expect(connectionsCheckingInterval(load({}))).toBe(1500);
    const short = { HTTP_REQUEST_TIMEOUT_MS: '2000', HTTP_HEADERS_TIMEOUT_MS: '1000' };
    expect(connectionsCheckingInterval(load(short))).toBe(100);
  });
});

describe(defaultMaxConnections.name, () => {
  it.each([
    [1024, 768],
    [4096, 3840],
    [300, 150],
    [1_048_576, 10_000],
  ])('leaves descriptors for the rest of the process under a limit of %i: %i', (limit, cap) => {
    expect(defaultMaxConnections(limit).maxConnections).toBe(cap);
  });

  it('assumes the common limit of 1024 where it cannot read one, and says so', () => {
    expect(defaultMaxConnections(undefined)).toEqual({
      maxConnections: 768,
      maxConnectionsSource: 'open-file limit unknown, assumed 1024, 256 reserved, at most 10000',
    });
  });
});

describe(openFileLimit.name, () => {
  it('reads the soft limit', () => {
    expect(openFileLimit(() => PROC_LIMITS)).toBe(1024);
  });

  it('reads this process’s own limit on Linux', () => {
    if (process.platform !== 'linux') return;
    expect(openFileLimit()).toBeGreaterThan(0);
  });

  it.each([
    ['unlimited', () => PROC_LIMITS.replace('1024     ', 'unlimited')],
    ['missing', () => 'Max cpu time unlimited unlimited seconds\n'],
    [
      'unreadable',
      () => {
        throw new Error('ENOENT');
      },
    ],
  ])('gives undefined when the limit is %s', (_, read) => {
    expect(openFileLimit(read)).toBeUndefined();
  });
});
