import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { jwtVerify } from 'jose';
import { DomainError } from '#common/errors.js';
import { ORDERS_CONFIG, type OrdersConfig } from '../config.js';

export type AuthenticatedRequest = FastifyRequest & { customerId?: string };

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;
const CUSTOMER_ID = /^[\x21-\x7e]{1,255}$/;

/**
 * Storefront authentication: a JWT whose `sub` is the customer id. HS256 with the configured
 * secret; no other algorithm is accepted (so neither `none` nor key-confusion tricks pass).
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  private readonly logger = new Logger(JwtAuthGuard.name);
  private readonly key: Uint8Array;

  constructor(@Inject(ORDERS_CONFIG) private readonly config: OrdersConfig) {
    this.key = new TextEncoder().encode(config.jwt.secret);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const token = BEARER.exec(request.headers.authorization ?? '')?.[1];
    if (!token) {
      throw new DomainError(
        'unauthenticated',
        'An Authorization: Bearer <JWT> header is required.',
      );
    }
    let subject: string | undefined;
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: this.config.jwt.issuer,
        audience: this.config.jwt.audience,
        requiredClaims: ['sub', 'exp'],
        clockTolerance: 30,
      });
      subject = payload.sub;
    } catch (error) {
      this.logger.debug(`Rejected token: ${(error as Error).message}`);
      throw new DomainError('unauthenticated', 'The bearer token is invalid or expired.');
    }
    if (!subject || !CUSTOMER_ID.test(subject)) {
      throw new DomainError('unauthenticated', 'The bearer token names no valid customer.');
    }
    request.customerId = subject;
    return true;
  }
}
