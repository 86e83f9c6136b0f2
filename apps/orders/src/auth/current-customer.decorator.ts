import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { AuthenticatedRequest } from './jwt-auth.guard.js';

/** The authenticated customer's id (the token's `sub`), set by JwtAuthGuard. */
export const CurrentCustomer = createParamDecorator((_: unknown, context: ExecutionContext) => {
  const customerId = context.switchToHttp().getRequest<AuthenticatedRequest>().customerId;
  if (!customerId) throw new Error('CurrentCustomer used on a route without JwtAuthGuard');
  return customerId;
});
