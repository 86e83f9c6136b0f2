import { Inject, Injectable, Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { jwtVerify } from 'jose';
import { ORDERS_CONFIG, type OrdersConfig } from '../config.js';

/** Who a verified storefront token speaks for. */
export interface Principal {
  /** The token's `sub`: the customer id. */
  subject: string;
}

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;
const SUBJECT = /^[\x21-\x7e]{1,255}$/;

/**
 * Verifies a request's bearer token, once per request: the guards and the rate limiter ask the
 * same question and get the same answer. HS256 with the configured secret; no other algorithm is
 * accepted (so neither `none` nor key-confusion tricks pass).
 */
@Injectable()
export class Authenticator {
  private readonly logger = new Logger(Authenticator.name);
  private readonly key: Uint8Array;
  private readonly verified = new WeakMap<object, Promise<Principal | null>>();

  constructor(@Inject(ORDERS_CONFIG) private readonly config: OrdersConfig) {
    this.key = new TextEncoder().encode(config.jwt.secret);
  }

  /** The request's verified principal; null when it has no valid token (missing, bad, expired). */
  principalOf(request: FastifyRequest): Promise<Principal | null> {
    let principal = this.verified.get(request);
    if (!principal) {
      principal = this.verify(request.headers.authorization);
      this.verified.set(request, principal);
    }
    return principal;
  }

  private async verify(authorization: string | undefined): Promise<Principal | null> {
    const token = BEARER.exec(authorization ?? '')?.[1];
    if (!token) return null;
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: this.config.jwt.issuer,
        audience: this.config.jwt.audience,
        requiredClaims: ['sub', 'exp'],
        clockTolerance: 30,
      });
      if (!payload.sub || !SUBJECT.test(payload.sub)) return null;
      return { subject: payload.sub };
    } catch (error) {
      this.logger.debug(`Rejected token: ${(error as Error).message}`);
      return null;
    }
  }
}
