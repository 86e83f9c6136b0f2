import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { FastifyRequest } from 'fastify';
import { SignJWT } from 'jose';
import { DEV_JWT_SECRET } from '#common/defaults.js';
import { loadOrdersConfig } from '../config.js';
import { Authenticator } from './authenticator.js';

const ISSUER = 'https://issuer.invalid/';
const AUDIENCE = 'orders-api';
const NOW = Date.parse('2026-01-01T00:00:00Z');

function sign(claims: { exp: number; nbf?: number; sub?: string }, secret = DEV_JWT_SECRET) {
  const jwt = new SignJWT({ roles: ['customer'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub ?? 'cus_1')
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setExpirationTime(claims.exp);
  if (claims.nbf !== undefined) jwt.setNotBefore(claims.nbf);
  return jwt.sign(new TextEncoder().encode(secret));
}

/** A new request each time, as the authenticator remembers its answer per request too. */
const request = (token: string) =>
  ({ headers: { authorization: `Bearer ${token}` } }) as FastifyRequest;

describe(Authenticator.name, () => {
  let authenticator: Authenticator;
  const seconds = (ms: number) => Math.floor(ms / 1000);

  beforeEach(() => {
    jest.useFakeTimers({ now: NOW, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    authenticator = new Authenticator(
      loadOrdersConfig({
        NODE_ENV: 'test',
        ORDERS_DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused',
        JWT_ISSUER: ISSUER,
        JWT_AUDIENCE: AUDIENCE,
        JWT_CLOCK_SKEW_SECONDS: '0',
      }),
    );
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('accepts the same valid token again', async () => {
    const token = await sign({ exp: seconds(NOW) + 3600 });
    expect(await authenticator.principalOf(request(token))).toEqual({
      subject: 'cus_1',
      roles: ['customer'],
    });
    expect(await authenticator.principalOf(request(token))).toEqual({
      subject: 'cus_1',
      roles: ['customer'],
    });
  });

  it('refuses a token it accepted before once the token has expired', async () => {
    const token = await sign({ exp: seconds(NOW) + 10 });
    expect(await authenticator.principalOf(request(token))).not.toBeNull();
    jest.setSystemTime(NOW + 10_000);
    expect(await authenticator.principalOf(request(token))).toBeNull();
  });

  it('refuses a forged token carrying the claims of one it accepted before', async () => {
    const token = await sign({ exp: seconds(NOW) + 3600 });
    expect(await authenticator.principalOf(request(token))).not.toBeNull();
    const forged = await sign({ exp: seconds(NOW) + 3600 }, 'x'.repeat(32));
    expect(forged.split('.').slice(0, 2)).toEqual(token.split('.').slice(0, 2));
    expect(await authenticator.principalOf(request(forged))).toBeNull();
    const [header, payload, signature] = token.split('.');
    const tampered = `${header}.${payload}.${signature.slice(0, -2)}AA`;
    expect(await authenticator.principalOf(request(tampered))).toBeNull();
  });

  it('does not remember a refusal: a token not yet valid is accepted once its nbf has passed', async () => {
    const token = await sign({ exp: seconds(NOW) + 3600, nbf: seconds(NOW) + 60 });
    expect(await authenticator.principalOf(request(token))).toBeNull();
    jest.setSystemTime(NOW + 60_000);
    expect(await authenticator.principalOf(request(token))).not.toBeNull();
  });

  it('tells customers apart by their own tokens', async () => {
    const first = await sign({ exp: seconds(NOW) + 3600, sub: 'cus_1' });
    const second = await sign({ exp: seconds(NOW) + 3600, sub: 'cus_2' });
    expect((await authenticator.principalOf(request(first)))?.subject).toBe('cus_1');
    expect((await authenticator.principalOf(request(second)))?.subject).toBe('cus_2');
    expect((await authenticator.principalOf(request(first)))?.subject).toBe('cus_1');
  });
});
