import { afterEach, describe, expect, it } from '@jest/globals';
import type { FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { DEV_JWT_SECRET } from '#common/config/defaults.js';
import { Authenticator } from '../../apps/orders/src/auth/authenticator.js';
import { loadOrdersConfig } from '../../apps/orders/src/config.js';
import { DEV_TOKEN_AUDIENCE, DEV_TOKEN_ISSUER, signDevToken } from './token.js';

/** orders as `npm start` runs it, without clock tolerance so the lifetime bound is exact. */
function orders(environment: NodeJS.ProcessEnv = {}): Authenticator {
  return new Authenticator(
    loadOrdersConfig({
      NODE_ENV: 'development',
      ORDERS_DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused',
      JWT_ISSUER: DEV_TOKEN_ISSUER,
      JWT_AUDIENCE: DEV_TOKEN_AUDIENCE,
      JWT_CLOCK_SKEW_SECONDS: '0',
      ...environment,
    }),
  );
}

const request = (token: string) =>
  ({
    headers: { authorization: `Bearer ${token}` },
    raw: { rawHeaders: ['Authorization', `Bearer ${token}`] },
  }) as unknown as FastifyRequest;

const sign = () => signDevToken('cus_dev', { secret: DEV_JWT_SECRET, privateKey: '' });

describe(signDevToken.name, () => {
  const configured = process.env.JWT_MAX_TOKEN_LIFETIME_SECONDS;

  afterEach(() => {
    if (configured === undefined) delete process.env.JWT_MAX_TOKEN_LIFETIME_SECONDS;
    else process.env.JWT_MAX_TOKEN_LIFETIME_SECONDS = configured;
  });

  it('mints a day-long token that orders accepts by default', async () => {
    delete process.env.JWT_MAX_TOKEN_LIFETIME_SECONDS;
    const token = await sign();
    const { iat, exp } = decodeJwt(token);
    expect(exp! - iat!).toBe(24 * 3600);
    expect(await orders().principalOf(request(token))).toEqual({
      subject: 'cus_dev',
      roles: ['customer'],
    });
  });

  it('mints tokens no longer than the lifetime orders is configured to accept', async () => {
    process.env.JWT_MAX_TOKEN_LIFETIME_SECONDS = '3600';
    const token = await sign();
    const { iat, exp } = decodeJwt(token);
    expect(exp! - iat!).toBe(3600);
    const authenticator = orders({ JWT_MAX_TOKEN_LIFETIME_SECONDS: '3600' });
    expect(await authenticator.principalOf(request(token))).not.toBeNull();
  });
});
