import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { type JWTPayload, SignJWT } from 'jose';
import { DEV_JWT_SECRET } from '#common/config/defaults.js';
import { loadOrdersConfig } from '../config.js';
import { Authenticator } from './authenticator.js';

const ISSUER = 'https://issuer.invalid/';
const AUDIENCE = 'orders-api';
const NOW = Date.parse('2026-01-01T00:00:00Z');

interface Claims {
  exp: number;
  nbf?: number;
  iat?: number;
  /** Not only strings: what a token may carry, not what jose would let us sign. */
  sub?: unknown;
}

function sign(claims: Claims, secret = DEV_JWT_SECRET) {
  const jwt = new SignJWT({
    roles: ['customer'],
    sub: claims.sub ?? 'cus_1',
  } as unknown as JWTPayload)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setExpirationTime(claims.exp);
  if (claims.nbf !== undefined) jwt.setNotBefore(claims.nbf);
  if (claims.iat !== undefined) jwt.setIssuedAt(claims.iat);
  return jwt.sign(new TextEncoder().encode(secret));
}

/**
 * A new request each time, as the authenticator remembers its answer per request too. Node keeps
 * the first of repeated Authorization headers in `headers`; `raw.rawHeaders` has them all.
 */
const request = (...tokens: string[]) =>
  ({
    headers: { authorization: `Bearer ${tokens[0]}` },
    raw: { rawHeaders: tokens.flatMap((token) => ['Authorization', `Bearer ${token}`]) },
  }) as unknown as FastifyRequest;

const DAY = 24 * 3600;

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

  it.each([
    ['an array', ['cus_1']],
    ['a number', 12345],
    ['a boolean', true],
    ['an object', { id: 'cus_1' }],
    ['an empty string', ''],
    ['a string with a space', 'cus 1'],
  ])('refuses a subject that is %s, and logs why', async (_case, sub) => {
    const debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
    try {
      const token = await sign({ exp: seconds(NOW) + 3600, sub });
      expect(await authenticator.principalOf(request(token))).toBeNull();
      expect(debug).toHaveBeenCalledWith(expect.stringMatching(/^Rejected token: "sub" claim/));
    } finally {
      debug.mockRestore();
    }
  });

  it('treats a request with two Authorization headers as anonymous, though each token is valid', async () => {
    const first = await sign({ exp: seconds(NOW) + 3600, sub: 'cus_1' });
    const second = await sign({ exp: seconds(NOW) + 3600, sub: 'cus_2' });
    expect(await authenticator.principalOf(request(first, second))).toBeNull();
    expect(await authenticator.principalOf(request(first, first))).toBeNull();
    expect((await authenticator.principalOf(request(first)))?.subject).toBe('cus_1');
  });

  it('accepts a token living the maximum lifetime (a day by default), not a second longer', async () => {
    const iat = seconds(NOW) - 60;
    expect(
      await authenticator.principalOf(request(await sign({ iat, exp: iat + DAY }))),
    ).not.toBeNull();
    expect(
      await authenticator.principalOf(request(await sign({ iat, exp: iat + DAY + 1 }))),
    ).toBeNull();
  });

  it('bounds a token without iat by its remaining lifetime', async () => {
    expect(
      await authenticator.principalOf(request(await sign({ exp: seconds(NOW) + DAY }))),
    ).not.toBeNull();
    const tooLong = await sign({ exp: seconds(NOW) + DAY + 1 });
    expect(await authenticator.principalOf(request(tooLong))).toBeNull();
    // Refusals are not remembered: a second later its remaining life fits.
    jest.setSystemTime(NOW + 1000);
    expect(await authenticator.principalOf(request(tooLong))).not.toBeNull();
  });

  it('refuses a token expiring in the year 9999, with or without iat', async () => {
    const exp = Date.parse('9999-12-31T23:59:59Z') / 1000;
    expect(await authenticator.principalOf(request(await sign({ exp })))).toBeNull();
    const issuedNow = await sign({ exp, iat: seconds(NOW) });
    expect(await authenticator.principalOf(request(issuedNow))).toBeNull();
  });

  it('refuses a token issued in the future beyond the clock skew', async () => {
    const dayAhead = await sign({ iat: seconds(NOW) + DAY, exp: seconds(NOW) + DAY + 60 });
    expect(await authenticator.principalOf(request(dayAhead))).toBeNull();
    const secondAhead = await sign({ iat: seconds(NOW) + 1, exp: seconds(NOW) + 60 });
    expect(await authenticator.principalOf(request(secondAhead))).toBeNull();
    const now = await sign({ iat: seconds(NOW), exp: seconds(NOW) + 60 });
    expect(await authenticator.principalOf(request(now))).not.toBeNull();
  });
});
