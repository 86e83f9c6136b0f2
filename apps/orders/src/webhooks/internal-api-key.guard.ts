import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
} from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '#common/errors.js';
import { requireSingleHeader } from '../auth/single-header.js';
import { ORDERS_CONFIG, type OrdersConfig } from '../config.js';

/**
 * Service-to-service authentication for internal endpoints: `X-Api-Key` must equal
 * INTERNAL_API_KEY. Without a configured key the endpoints are closed to everyone.
 */
@Injectable()
export class InternalApiKeyGuard implements CanActivate {
  private readonly logger = new Logger(InternalApiKeyGuard.name);
  private readonly expected?: Buffer;

  constructor(@Inject(ORDERS_CONFIG) config: OrdersConfig) {
    if (config.internalApiKey) this.expected = digest(config.internalApiKey);
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    requireSingleHeader(request, 'X-Api-Key');
    const presented = request.headers['x-api-key'];
    // Comparing digests keeps the comparison constant-time whatever the length presented.
    if (
      this.expected &&
      typeof presented === 'string' &&
      timingSafeEqual(digest(presented), this.expected)
    ) {
      return true;
    }
    if (!this.expected) this.logger.debug('Refused an internal call: INTERNAL_API_KEY is not set');
    throw new DomainError('unauthenticated', 'A valid X-Api-Key header is required.');
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
