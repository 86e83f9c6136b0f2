import { createPublicKey } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import {
  createRemoteJWKSet,
  errors,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyOptions,
} from 'jose';
import { LRUCache } from 'lru-cache';
import { VISIBLE_ASCII_ID } from '#common/validation.js';
import { ORDERS_CONFIG, type OrdersConfig } from '../config.js';
import { type Principal, rolesOf } from './principal.js';
import { isRepeated } from './single-header.js';

export type { Principal } from './principal.js';

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;

/** Verified tokens remembered; the least recently used is forgotten beyond this. */
export const VERIFIED_TOKENS_CACHED = 10_000;
/**
 * A remembered verification is redone after this long at most, so that a signing key withdrawn
 * from the identity provider's key set stops being accepted about as soon as without the cache.
 */
export const VERIFIED_TOKEN_MAX_AGE_MS = 60_000;

/**
 * Verifies a request's bearer token, once per request: the guards and the rate limiter ask the
 * same question and get the same answer. Only the configured algorithms pass, each against the
 * configured key: an asymmetric public key (PEM or a JWKS URL) in production, HS256 with a
 * secret in development. jose refuses `none`, and an HS256 token signed with the public key as
 * HMAC secret fails because HS256 is not among the algorithms whenever a public key is set.
 */
@Injectable()
export class Authenticator {
  private readonly logger = new Logger(Authenticator.name);
  private readonly checkToken: (token: string) => Promise<{ payload: JWTPayload }>;
  private readonly verified = new WeakMap<object, Promise<Principal | null>>();
  /**
   * Keyed by the whole token string, signature included: a token differing in any byte from one
   * verified earlier is verified afresh. Only successes are kept, each until its `exp` (with the
   * clock tolerance jose applies) or VERIFIED_TOKEN_MAX_AGE_MS, whichever comes first; `nbf` was
   * already in the past when it was verified. ES256 verification is most of a cheap request's CPU.
   * Ages are measured on Date's clock, as jose's checks are, read afresh on every look-up.
   */
  private readonly tokens = new LRUCache<string, Principal>({
    max: VERIFIED_TOKENS_CACHED,
    perf: Date,
    ttlResolution: 0,
  });

  constructor(@Inject(ORDERS_CONFIG) private readonly config: OrdersConfig) {
    const { jwt } = config;
    const options: JWTVerifyOptions = {
      algorithms: [...jwt.algorithms],
      issuer: jwt.issuer,
      audience: jwt.audience,
      requiredClaims: ['sub', 'exp'],
      clockTolerance: jwt.clockSkewSeconds,
    };
    if (jwt.jwks) {
      // jose caches the key set, refetches it for an unknown `kid` at most once per cooldown.
      const keySet = createRemoteJWKSet(jwt.jwks.url, {
        timeoutDuration: jwt.jwks.timeoutMs,
        cooldownDuration: jwt.jwks.cooldownMs,
        cacheMaxAge: jwt.jwks.cacheMaxAgeMs,
      });
      this.checkToken = (token) => jwtVerify(token, keySet, options);
    } else if (jwt.publicKey) {
      const key = createPublicKey(jwt.publicKey);
      this.checkToken = (token) => jwtVerify(token, key, options);
    } else {
      const key = new TextEncoder().encode(jwt.secret);
      this.checkToken = (token) => jwtVerify(token, key, options);
      if (config.nodeEnv !== 'development') {
        this.logger.warn(
          'Storefront tokens are verified with HS256 and JWT_SECRET, which is meant for ' +
            'development only: set JWT_JWKS_URL or JWT_PUBLIC_KEY.',
        );
      }
    }
  }

  /**
   * The request's verified principal; null when it has no valid token (missing, bad, expired) or
   * more than one Authorization header (JwtAuthGuard answers those with a 400).
   */
  principalOf(request: FastifyRequest): Promise<Principal | null> {
    let principal = this.verified.get(request);
    if (!principal) {
      principal = isRepeated(request, 'authorization')
        ? Promise.resolve(null)
        : this.verify(request.headers.authorization);
      this.verified.set(request, principal);
    }
    return principal;
  }

  private async verify(authorization: string | undefined): Promise<Principal | null> {
    const token = BEARER.exec(authorization ?? '')?.[1];
    if (!token) return null;
    const now = Date.now();
    const cached = this.tokens.get(token);
    if (cached) return cached;
    try {
      const { payload } = await this.checkToken(token);
      const principal: Principal = Object.freeze({
        subject: this.subjectOf(payload, Math.floor(now / 1000)),
        roles: Object.freeze(rolesOf(payload[this.config.jwt.rolesClaim])),
      });
      this.remember(token, principal, payload.exp! * 1000, now);
      return principal;
    } catch (error) {
      if (error instanceof errors.JOSEError && !(error instanceof errors.JWKSTimeout)) {
        this.logger.debug(`Rejected token: ${error.message}`);
      } else {
        // The identity provider's key set could not be read: every token fails until it can.
        this.logger.warn(`Token not verifiable: ${(error as Error).message}`);
      }
      return null;
    }
  }

  /**
   * The checks jose leaves to us, on a payload whose signature, `exp`, `nbf`, `iss` and `aud` it
   * has verified; a failure is thrown as jose's own error, so it is logged like one.
   *
   * The lifetime is `exp - iat`, or `exp - now` without `iat`. jose's `maxTokenAge` would bound
   * `now - iat` and make `iat` required; it stays optional here as in RFC 7519. The usual identity
   * providers (Auth0, Okta, Keycloak, Entra ID, Cognito; RFC 9068 access tokens) set it, and a
   * token without it is still bounded: it is refused while its `exp` lies farther ahead than a
   * lifetime.
   */
  private subjectOf(payload: JWTPayload, now: number): string {
    const { sub, exp, iat } = payload;
    const { clockSkewSeconds: skew, maxTokenLifetimeSeconds: maxLifetime } = this.config.jwt;
    // RegExp.test coerces: ["1"], 1 and true would pass and become different strings downstream.
    if (typeof sub !== 'string' || !VISIBLE_ASCII_ID.test(sub)) {
      throw new errors.JWTClaimValidationFailed(
        '"sub" claim must be 1 to 255 visible ASCII characters',
        payload,
        'sub',
        'invalid',
      );
    }
    if (iat !== undefined && iat > now + skew) {
      throw new errors.JWTClaimValidationFailed(
        '"iat" claim timestamp check failed (in the future)',
        payload,
        'iat',
        'check_failed',
      );
    }
    if (exp! - (iat ?? now) > maxLifetime + skew) {
      throw new errors.JWTClaimValidationFailed(
        `"exp" claim timestamp check failed (lifetime beyond ${maxLifetime} s)`,
        payload,
        'exp',
        'check_failed',
      );
    }
    return sub;
  }

  private remember(token: string, principal: Principal, expiresAt: number, now: number): void {
    const until = Math.min(
      expiresAt + this.config.jwt.clockSkewSeconds * 1000,
      now + VERIFIED_TOKEN_MAX_AGE_MS,
    );
    // lru-cache serves an entry while its age is at most the ttl; ours ends at `until` itself.
    const ttl = until - now - 1;
    if (ttl > 0) this.tokens.set(token, principal, { ttl, start: now });
  }
}
