import { Module } from '@nestjs/common';
import { Authenticator } from './authenticator.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import { RolesGuard } from './roles.guard.js';

/** Storefront authentication and authorization: the token verifier and the route guards. */
@Module({
  providers: [Authenticator, JwtAuthGuard, RolesGuard],
  exports: [Authenticator, JwtAuthGuard, RolesGuard],
})
export class AuthModule {}
