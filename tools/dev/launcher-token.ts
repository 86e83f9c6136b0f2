import type { FastifyRequest } from 'fastify';
import { Authenticator } from '../../apps/orders/src/auth/authenticator.js';
import { loadOrdersConfig, type OrdersConfig } from '../../apps/orders/src/config.js';
import { DEV_TOKEN_AUDIENCE, DEV_TOKEN_ISSUER, signDevToken } from './token.js';

/** What the launcher prints for the storefront: a token, or how to get one. */
export type LauncherToken = { token: string } | { instructions: string };

/** What orders verifies tokens with, and what would let the launcher sign tokens it accepts. */
function verification(config: OrdersConfig): { verifier: string; remedy: string } {
  switch (config.jwt.verification) {
    case 'jwks':
      return {
        verifier: `the key set at JWT_JWKS_URL (${config.jwt.jwks!.url.href})`,
        remedy: 'set JWT_PRIVATE_KEY to the private key of one in that set',
      };
    case 'publicKey':
      return {
        verifier: 'JWT_PUBLIC_KEY',
        remedy: 'set JWT_PRIVATE_KEY to the private key of JWT_PUBLIC_KEY',
      };
    default:
      return {
        verifier: 'JWT_SECRET (HS256)',
        remedy: 'set JWT_PUBLIC_KEY to the public key of JWT_PRIVATE_KEY, or unset JWT_PRIVATE_KEY',
      };
  }
}

/**
 * A development token for `customerId`, only if orders run with `environment` accepts it: it is
 * signed as `npm run dev:token` signs (JWT_PRIVATE_KEY when set, else HS256 with orders' secret)
 * and checked by orders' own Authenticator built from the same configuration, so what is printed
 * is what that orders verifies. Production verifies with keys the launcher seldom holds; then the
 * answer says where a token comes from instead of printing one that every request would refuse.
 */
export async function launcherToken(
  environment: NodeJS.ProcessEnv,
  customerId: string,
): Promise<LauncherToken> {
  const config = loadOrdersConfig(environment);
  const { issuer, audience } = config.jwt;
  let token: string | undefined;
  try {
    token = await signDevToken(customerId, {
      privateKey: environment.JWT_PRIVATE_KEY ?? '',
      secret: config.jwt.secret,
      issuer: issuer ?? DEV_TOKEN_ISSUER,
      audience: audience ?? DEV_TOKEN_AUDIENCE,
    });
  } catch {
    token = undefined; // a JWT_PRIVATE_KEY that cannot sign: explained below
  }
  const authorization = `Bearer ${token}`;
  const request = {
    headers: { authorization },
    raw: { rawHeaders: ['authorization', authorization] },
  } as unknown as FastifyRequest;
  if (token && (await new Authenticator(config).principalOf(request))) return { token };
  const claims = [issuer && `iss ${issuer}`, audience && `aud ${audience}`].filter(Boolean);
  const { verifier, remedy } = verification(config);
  return {
    instructions:
      `orders (NODE_ENV=${config.nodeEnv}) verifies tokens with ${verifier}` +
      `${claims.length ? ` and requires ${claims.join(', ')}` : ''}, and the launcher holds no ` +
      'key that signs tokens it accepts. Get a token from your identity provider (with a ' +
      `\`${config.jwt.rolesClaim}\` claim listing customer or admin), or ${remedy}; then ` +
      'npm run -s dev:token -- <customer-id> prints one.',
  };
}
