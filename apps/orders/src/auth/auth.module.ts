import { Module } from '@nestjs/common';
import { Authenticator } from './authenticator.js';
import { InternalApiKeyGuard } from './internal-api-key.guard.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import { RolesGuard } from './roles.guard.js';

/**
 * Who may call: the storefront's token verifier and route guards, and the API key of the internal
 * payment-update push.
 */
@Module({
  providers: [Authenticator, JwtAuthGuard, RolesGuard, InternalApiKeyGuard],
  exports: [Authenticator, JwtAuthGuard, RolesGuard, InternalApiKeyGuard],
})
export class AuthModule {}
