import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ORDERS_CONFIG, type OrdersConfig } from '../config.js';
import { InternalApiKey } from './internal-api-key.js';

/**
 * The internal endpoints' authentication (see InternalApiKey). The rate limiter already refused
 * a wrong key before the body was read; this guard keeps the route closed on its own too.
 */
@Injectable()
export class InternalApiKeyGuard implements CanActivate {
  private readonly logger = new Logger(InternalApiKeyGuard.name);
  private readonly key: InternalApiKey;

  constructor(@Inject(ORDERS_CONFIG) private readonly config: OrdersConfig) {
    this.key = new InternalApiKey(config.internalApiKey);
  }

  canActivate(context: ExecutionContext): boolean {
    const problem = this.key.problemWith(context.switchToHttp().getRequest<FastifyRequest>());
    if (!problem) return true;
    if (!this.config.internalApiKey) {
      this.logger.debug('Refused an internal call: INTERNAL_API_KEY is not set');
    }
    throw problem;
  }
}
