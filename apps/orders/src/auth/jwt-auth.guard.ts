import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '#common/errors.js';
import { Authenticator } from './authenticator.js';
import type { Principal } from './principal.js';
import { requireSingleHeader } from './single-header.js';

export type AuthenticatedRequest = FastifyRequest & { principal?: Principal };

/** Storefront routes: a valid bearer token is required; its `sub` is the customer id. */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(private readonly authenticator: Authenticator) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    requireSingleHeader(request, 'Authorization');
    if (!request.headers.authorization) {
      throw new DomainError(
        'unauthenticated',
        'An Authorization: Bearer <JWT> header is required.',
      );
    }
    const principal = await this.authenticator.principalOf(request);
    if (!principal) {
      throw new DomainError('unauthenticated', 'The bearer token is invalid or expired.');
    }
    request.principal = principal;
    return true;
  }
}
