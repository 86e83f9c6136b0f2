import { type DynamicModule, Module, type ModuleMetadata } from '@nestjs/common';
import type { RateLimitPolicy } from './rate-limit.policies.js';
import { RATE_LIMIT_POLICIES, RateLimiter } from './rate-limiter.js';
import {
  RATE_LIMIT_STORE_OPTIONS,
  RateLimitStorage,
  type RateLimitStoreOptions,
} from './rate-limit.storage.js';

export interface RateLimitSettings {
  store: RateLimitStoreOptions;
  policies: RateLimitPolicy[];
}

const RATE_LIMIT_SETTINGS = Symbol('RATE_LIMIT_SETTINGS');

/**
 * Rate limiting of every HTTP request with the given policies: the RateLimiter, installed as a
 * hook by useRateLimits once the app exists.
 */
@Module({})
export class RateLimitModule {
  static forRootAsync(options: {
    imports?: ModuleMetadata['imports'];
    inject: (symbol | string | (abstract new (...args: never[]) => unknown))[];
    useFactory: (...args: never[]) => RateLimitSettings;
  }): DynamicModule {
    return {
      module: RateLimitModule,
      // Routes that count their own credential failures (webhooks) inject the RateLimiter.
      global: true,
      imports: options.imports ?? [],
      providers: [
        { provide: RATE_LIMIT_SETTINGS, inject: options.inject, useFactory: options.useFactory },
        {
          provide: RATE_LIMIT_STORE_OPTIONS,
          inject: [RATE_LIMIT_SETTINGS],
          useFactory: (settings: RateLimitSettings) => settings.store,
        },
        {
          provide: RATE_LIMIT_POLICIES,
          inject: [RATE_LIMIT_SETTINGS],
          useFactory: (settings: RateLimitSettings) => settings.policies,
        },
        RateLimitStorage,
        RateLimiter,
      ],
      exports: [RateLimiter],
    };
  }
}
