import { createPrivateKey, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { DEV_JWT_SECRET } from '#common/config/defaults.js';
import { VISIBLE_ASCII_ID } from '#common/validation.js';

export const DEV_TOKEN_ISSUER = 'orders-payments-dev';
export const DEV_TOKEN_AUDIENCE = 'orders-api';

/** What the orders API accepts as a customer id: 1 to 255 visible ASCII characters. */
export const CUSTOMER_ID_PATTERN = VISIBLE_ASCII_ID;

/** The secret the orders service verifies tokens with when run with this environment. */
export function devJwtSecret(): string {
  return process.env.JWT_SECRET || DEV_JWT_SECRET;
}

export interface DevTokenOptions {
  /** The roles claim; a customer by default. */
  roles?: string[];
  /** HS256 secret; default JWT_SECRET or the development secret. Ignored with `privateKey`. */
  secret?: string;
  /** A PKCS#8 PEM private key (default JWT_PRIVATE_KEY): signs with its algorithm instead. */
  privateKey?: string;
  issuer?: string;
  audience?: string;
}

/** The JWS algorithm for a private key: the one the orders service's default list accepts. */
function algorithmOf(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256';
    case 'ec':
      return { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' }[
        key.asymmetricKeyDetails?.namedCurve ?? ''
      ]!;
    case 'ed25519':
      return 'EdDSA';
    default:
      throw new RangeError(`JWT_PRIVATE_KEY: a ${key.asymmetricKeyType} key cannot sign a JWT`);
  }
}

const DAY_SECONDS = 24 * 3600;

/** A day, or JWT_MAX_TOKEN_LIFETIME_SECONDS when orders is configured to refuse that. */
function lifetimeSeconds(): number {
  const max = Number(process.env.JWT_MAX_TOKEN_LIFETIME_SECONDS);
  return Number.isInteger(max) && max > 0 ? Math.min(max, DAY_SECONDS) : DAY_SECONDS;
}

/**
 * An access token for `customerId` living a day (less if JWT_MAX_TOKEN_LIFETIME_SECONDS is
 * shorter), as the orders API run with this environment expects: signed with JWT_PRIVATE_KEY when
 * set (pair it with JWT_PUBLIC_KEY), otherwise HS256 with the development secret; `iss` / `aud`
 * from JWT_ISSUER / JWT_AUDIENCE, or the development ones.
 */
export async function signDevToken(
  customerId: string,
  options: DevTokenOptions = {},
): Promise<string> {
  if (!CUSTOMER_ID_PATTERN.test(customerId)) {
    throw new RangeError('A customer id is 1 to 255 visible ASCII characters');
  }
  const pem = options.privateKey ?? process.env.JWT_PRIVATE_KEY;
  const privateKey = pem ? createPrivateKey(pem.replaceAll('\\n', '\n').trim()) : undefined;
  // One instant for both claims: jose reads the clock per call, and `exp - iat` must not exceed
  // the lifetime orders accepts by the second a tick between the calls would add.
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ roles: options.roles ?? ['customer'] })
    .setProtectedHeader({ alg: privateKey ? algorithmOf(privateKey) : 'HS256', typ: 'JWT' })
    .setSubject(customerId)
    .setIssuer(options.issuer ?? (process.env.JWT_ISSUER || DEV_TOKEN_ISSUER))
    .setAudience(options.audience ?? (process.env.JWT_AUDIENCE || DEV_TOKEN_AUDIENCE))
    .setIssuedAt(now)
    .setExpirationTime(now + lifetimeSeconds());
  return jwt.sign(privateKey ?? new TextEncoder().encode(options.secret ?? devJwtSecret()));
}
