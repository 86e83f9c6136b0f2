import { type CanActivate, type ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError } from '#common/errors.js';
import type { AuthenticatedRequest } from './jwt-auth.guard.js';
import type { Role } from './principal.js';
import { ROLES_METADATA } from './roles.decorator.js';

/**
 * After JwtAuthGuard: the principal must hold one of the roles the route declares with @Roles.
 * Deny by default: a route that declares no roles answers 403 to everyone.
 */
@Injectable()
export class RolesGuard implements CanActivate {
  private readonly logger = new Logger(RolesGuard.name);

  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const accepted = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!accepted) {
      this.logger.error(
        `${context.getClass().name}.${context.getHandler().name} declares no @Roles: refused`,
      );
      throw forbidden();
    }
    const { principal } = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (!principal) throw new Error('RolesGuard used without JwtAuthGuard before it');
    if (!principal.roles.some((role) => accepted.includes(role))) throw forbidden();
    return true;
  }
}

function forbidden(): DomainError {
  return new DomainError('forbidden', 'The token does not grant a role this operation needs.');
}
