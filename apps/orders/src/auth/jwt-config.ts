import { createPublicKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { env } from '#common/config/config.js';

/** The asymmetric signature algorithms a storefront token may use (never `none`, never HS*). */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

/** A week: beyond it a bearer token is a long-lived credential, which this API does not take. */
const MAX_TOKEN_LIFETIME_CAP = 7 * 24 * 3600;

const DEFAULT_ALGORITHMS: AsymmetricAlgorithm[] = ['RS256', 'ES256'];

const CURVES: Partial<Record<AsymmetricAlgorithm, string>> = {
  ES256: 'prime256v1',
  ES384: 'secp384r1',
  ES512: 'secp521r1',
};

/** The key type (and curve) each algorithm signs with, to refuse a key no algorithm can use. */
function fits(algorithm: AsymmetricAlgorithm, key: KeyObject): boolean {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  switch (algorithm.slice(0, 2)) {
    case 'RS':
      return key.asymmetricKeyType === 'rsa';
    case 'PS':
      return key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss';
    case 'ES':
      return key.asymmetricKeyType === 'ec' && curve === CURVES[algorithm];
    default:
      return key.asymmetricKeyType === 'ed25519';
  }
}

/** Env files often carry a PEM on one line with literal `\n` escapes. */
function pemText(value: string): string {
  return value.replaceAll('\\n', '\n').trim();
}

function publicKeyOf(pem: string): KeyObject | undefined {
  try {
    const key = createPublicKey({ key: pem, format: 'pem' });
    return key.type === 'public' ? key : undefined;
  } catch {
    return undefined;
  }
}

const algorithmList = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
  )
  .pipe(
    z
      .array(
        z.enum(ASYMMETRIC_ALGORITHMS, {
          error: `must be a comma-separated list of ${ASYMMETRIC_ALGORITHMS.join(', ')} (never none or HS*)`,
        }),
      )
      .min(1, 'must name at least one algorithm'),
  );

/** The storefront-token variables beyond JWT_SECRET / JWT_ISSUER / JWT_AUDIENCE. */
export const jwtEnv = {
  JWT_JWKS_URL: z.preprocess(
    (value) => (value === '' ? undefined : value),
    z
      .url({ protocol: /^https?$/, error: 'must be an http(s):// URL' })
      .transform((value) => new URL(value))
      .optional(),
  ),
  JWT_JWKS_TIMEOUT_MS: env.positiveInt(5_000).pipe(z.number().max(60_000, 'must be at most 60000')),
  JWT_JWKS_COOLDOWN_MS: env.positiveInt(30_000),
  JWT_JWKS_CACHE_MAX_AGE_MS: env.positiveInt(10 * 60_000),
  JWT_PUBLIC_KEY: env
    .optionalString()
    .transform((value) => (value === undefined ? undefined : pemText(value)))
    .refine(
      (pem) => pem === undefined || publicKeyOf(pem) !== undefined,
      'must be a PEM public key (-----BEGIN PUBLIC KEY-----, SPKI)',
    ),
  JWT_ALGORITHMS: z.preprocess(
    (value) => (value === '' ? undefined : value),
    algorithmList.optional(),
  ),
  JWT_CLOCK_SKEW_SECONDS: env.nonNegativeInt(30).pipe(z.number().max(300, 'must be at most 300')),
  // Identity providers issue access tokens for minutes to hours; a day covers them all.
  JWT_MAX_TOKEN_LIFETIME_SECONDS: env
    .positiveInt(24 * 3600)
    .pipe(
      z.number().max(MAX_TOKEN_LIFETIME_CAP, `must be at most ${MAX_TOKEN_LIFETIME_CAP} (7 days)`),
    ),
  JWT_ROLES_CLAIM: env.optionalString().default('roles'),
};

interface JwtValues {
  NODE_ENV: 'development' | 'test' | 'production';
  JWT_SECRET?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
  JWT_JWKS_URL?: URL;
  JWT_JWKS_TIMEOUT_MS: number;
  JWT_JWKS_COOLDOWN_MS: number;
  JWT_JWKS_CACHE_MAX_AGE_MS: number;
  JWT_PUBLIC_KEY?: string;
  JWT_ALGORITHMS?: AsymmetricAlgorithm[];
  JWT_CLOCK_SKEW_SECONDS: number;
  JWT_MAX_TOKEN_LIFETIME_SECONDS: number;
  JWT_ROLES_CLAIM: string;
}

/**
 * The rules across variables. Production verifies tokens only with an asymmetric key and checks
 * who issued them for whom: a shared HS256 secret lets whoever verifies tokens also mint them.
 */
export function jwtAsymmetricKeyIssues(value: JwtValues): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  const issue = (key: string, message: string) => issues.push({ path: [key], message });
  const asymmetric = value.JWT_JWKS_URL !== undefined || value.JWT_PUBLIC_KEY !== undefined;
  const production = value.NODE_ENV === 'production';

  if (value.JWT_JWKS_URL && value.JWT_PUBLIC_KEY) {
    issue('JWT_PUBLIC_KEY', 'set either JWT_JWKS_URL or JWT_PUBLIC_KEY, not both');
  }
  if (asymmetric && value.JWT_SECRET) {
    issue(
      'JWT_SECRET',
      'must be unset when JWT_JWKS_URL or JWT_PUBLIC_KEY is set (HS256 tokens are then refused)',
    );
  }
  if (!asymmetric && value.JWT_ALGORITHMS) {
    issue(
      'JWT_ALGORITHMS',
      'applies to JWT_JWKS_URL or JWT_PUBLIC_KEY; without either, only HS256 (development) is used',
    );
  }
  if (value.JWT_PUBLIC_KEY && value.JWT_ALGORITHMS) {
    const key = publicKeyOf(value.JWT_PUBLIC_KEY);
    if (key && !value.JWT_ALGORITHMS.some((algorithm) => fits(algorithm, key))) {
      issue(
        'JWT_ALGORITHMS',
        `none of them can verify with JWT_PUBLIC_KEY (a ${key.asymmetricKeyType} key)`,
      );
    }
  }
  if (production) {
    if (!asymmetric) {
      issue(
        'JWT_SECRET',
        'HS256 is refused in production (whoever holds the secret can mint tokens): ' +
          'set JWT_JWKS_URL or JWT_PUBLIC_KEY',
      );
    }
    if (!value.JWT_ISSUER) issue('JWT_ISSUER', 'is required in production');
    if (!value.JWT_AUDIENCE) issue('JWT_AUDIENCE', 'is required in production');
    if (value.JWT_JWKS_URL && value.JWT_JWKS_URL.protocol !== 'https:') {
      issue('JWT_JWKS_URL', 'must be an https:// URL in production');
    }
  }
  return issues;
}

/** How tokens are verified; `secret` (HS256) applies only when `verification` is `secret`. */
export function jwtSettings(value: JwtValues) {
  const verification: 'jwks' | 'publicKey' | 'secret' = value.JWT_JWKS_URL
    ? 'jwks'
    : value.JWT_PUBLIC_KEY
      ? 'publicKey'
      : 'secret';
  return {
    verification,
    algorithms:
      verification === 'secret' ? ['HS256'] : (value.JWT_ALGORITHMS ?? DEFAULT_ALGORITHMS),
    publicKey: value.JWT_PUBLIC_KEY,
    jwks: value.JWT_JWKS_URL && {
      url: value.JWT_JWKS_URL,
      timeoutMs: value.JWT_JWKS_TIMEOUT_MS,
      cooldownMs: value.JWT_JWKS_COOLDOWN_MS,
      cacheMaxAgeMs: value.JWT_JWKS_CACHE_MAX_AGE_MS,
    },
    clockSkewSeconds: value.JWT_CLOCK_SKEW_SECONDS,
    maxTokenLifetimeSeconds: value.JWT_MAX_TOKEN_LIFETIME_SECONDS,
    rolesClaim: value.JWT_ROLES_CLAIM,
  };
}
