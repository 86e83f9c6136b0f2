import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { createPublicKey } from 'node:crypto';
import { decodeJwt, jwtVerify } from 'jose';
import { DEV_JWT_SECRET } from '#common/config/defaults.js';
import { launcherToken } from './launcher-token.js';

const ORDERS = { ORDERS_DATABASE_URL: 'postgres://unused@127.0.0.1:1/orders' };
const PRODUCTION = {
  ...ORDERS,
  NODE_ENV: 'production',
  JWT_ISSUER: 'https://id.example.com/',
  JWT_AUDIENCE: 'orders-api',
  ORDERS_GRPC_INBOUND_TOKENS: 'payments=a-production-payments-to-orders-token-0123',
  PAYMENTS_GRPC_TOKEN: 'a-production-orders-to-payments-token-0123',
};

function ecKeyPair() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

describe(launcherToken.name, () => {
  it('gives the development token when orders runs with the development defaults', async () => {
    const answer = await launcherToken({ ...ORDERS, NODE_ENV: 'development' }, 'demo-customer');
    if (!('token' in answer)) throw new Error(answer.instructions);
    const { payload } = await jwtVerify(answer.token, new TextEncoder().encode(DEV_JWT_SECRET));
    expect(payload).toMatchObject({ sub: 'demo-customer', roles: ['customer'] });
  });

  it('signs with the JWT_SECRET orders verifies with, not the development one', async () => {
    const secret = 'a-local-secret-of-at-least-thirty-two-characters';
    const answer = await launcherToken({ ...ORDERS, JWT_SECRET: secret }, 'demo-customer');
    if (!('token' in answer)) throw new Error(answer.instructions);
    await expect(jwtVerify(answer.token, new TextEncoder().encode(secret))).resolves.toBeDefined();
  });

  it('prints no token but where to get one when production holds only the public key', async () => {
    const { publicPem } = ecKeyPair();
    const answer = await launcherToken({ ...PRODUCTION, JWT_PUBLIC_KEY: publicPem }, 'demo');
    expect(answer).not.toHaveProperty('token');
    expect(answer).toEqual({
      instructions: expect.stringMatching(
        /^orders \(NODE_ENV=production\) verifies tokens with JWT_PUBLIC_KEY and requires iss https:\/\/id\.example\.com\/, aud orders-api, .*identity provider.*JWT_PRIVATE_KEY to the private key of JWT_PUBLIC_KEY/,
      ),
    });
  });

  it('prints no token signed with a JWT_PRIVATE_KEY that is not the pair of JWT_PUBLIC_KEY', async () => {
    const answer = await launcherToken(
      {
        ...PRODUCTION,
        JWT_PUBLIC_KEY: ecKeyPair().publicPem,
        JWT_PRIVATE_KEY: ecKeyPair().privatePem,
      },
      'demo',
    );
    expect(answer).toHaveProperty('instructions');
  });

  it('prints no token when JWT_PRIVATE_KEY is set but orders verifies HS256', async () => {
    const answer = await launcherToken(
      { ...ORDERS, JWT_PRIVATE_KEY: ecKeyPair().privatePem },
      'demo',
    );
    expect(answer).toEqual({
      instructions: expect.stringContaining('unset JWT_PRIVATE_KEY'),
    });
  });

  it('gives a token production verifies when JWT_PRIVATE_KEY pairs with JWT_PUBLIC_KEY', async () => {
    const { publicPem, privatePem } = ecKeyPair();
    const answer = await launcherToken(
      // As an env file carries them: one line with \n escapes.
      {
        ...PRODUCTION,
        JWT_PUBLIC_KEY: publicPem.replaceAll('\n', '\\n'),
        JWT_PRIVATE_KEY: privatePem.replaceAll('\n', '\\n'),
      },
      'demo-customer',
    );
    if (!('token' in answer)) throw new Error(answer.instructions);
    const { payload, protectedHeader } = await jwtVerify(answer.token, createPublicKey(publicPem), {
      issuer: PRODUCTION.JWT_ISSUER,
      audience: PRODUCTION.JWT_AUDIENCE,
      algorithms: ['ES256'],
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload.sub).toBe('demo-customer');
    expect(decodeJwt(answer.token).exp).toBeGreaterThan(Date.now() / 1000);
  });
});
