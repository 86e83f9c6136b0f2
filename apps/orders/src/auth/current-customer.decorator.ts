import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { AuthenticatedRequest } from './jwt-auth.guard.js';

/** The authenticated customer's id (the token's `sub`), set by JwtAuthGuard. */
export const CurrentCustomer = createParamDecorator((_: unknown, context: ExecutionContext) => {
  const customerId = context.switchToHttp().getRequest<AuthenticatedRequest>().customerId;
  if (!customerId) throw new Error('CurrentCustomer used on a route without JwtAuthGuard');
  return customerId;
});

/** The authenticated principal (subject and roles), set by JwtAuthGuard. */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext) => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new Error('CurrentPrincipal used on a route without JwtAuthGuard');
  return principal;
});
