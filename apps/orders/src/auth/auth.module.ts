import { Module } from '@nestjs/common';
import { Authenticator } from './authenticator.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';

/** Storefront authentication: the token verifier and the guard of the storefront routes. */
@Module({
  providers: [Authenticator, JwtAuthGuard],
  exports: [Authenticator, JwtAuthGuard],
})
export class AuthModule {}
