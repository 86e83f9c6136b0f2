import { SignJWT } from 'jose';
import { DEV_JWT_SECRET } from '#common/defaults.js';

export const DEV_TOKEN_ISSUER = 'orders-payments-dev';
export const DEV_TOKEN_AUDIENCE = 'orders-api';

/** What the orders API accepts as a customer id: 1 to 255 visible ASCII characters. */
export const CUSTOMER_ID_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The secret the orders service verifies tokens with when run with this environment. */
export function devJwtSecret(): string {
  return process.env.JWT_SECRET || DEV_JWT_SECRET;
}

/** A 24-hour HS256 access token for `customerId`, as the orders API expects for local use. */
export async function signDevToken(customerId: string, secret = devJwtSecret()): Promise<string> {
  if (!CUSTOMER_ID_PATTERN.test(customerId)) {
    throw new RangeError('A customer id is 1 to 255 visible ASCII characters');
  }
  return new SignJWT()
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(customerId)
    .setIssuer(DEV_TOKEN_ISSUER)
    .setAudience(DEV_TOKEN_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('24h')
    .sign(new TextEncoder().encode(secret));
}
