import { type DynamicModule, Module, type ModuleMetadata } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from './throttler.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import type { RateLimitPolicy } from './rate-limit.policies.js';
import { throttlerOptions } from './rate-limit.policies.js';
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

@Module({})
class RateLimitCoreModule {}

/** Rate limiting of every HTTP route (RateLimitGuard as a global guard) with the given policies. */
@Module({})
export class RateLimitModule {
  static forRootAsync(options: {
    imports?: ModuleMetadata['imports'];
    inject: (symbol | string | (abstract new (...args: never[]) => unknown))[];
    useFactory: (...args: never[]) => RateLimitSettings;
  }): DynamicModule {
    const core: DynamicModule = {
      module: RateLimitCoreModule,
      imports: options.imports ?? [],
      providers: [
        { provide: RATE_LIMIT_SETTINGS, inject: options.inject, useFactory: options.useFactory },
        {
          provide: RATE_LIMIT_STORE_OPTIONS,
          inject: [RATE_LIMIT_SETTINGS],
          useFactory: (settings: RateLimitSettings) => settings.store,
        },
        RateLimitStorage,
      ],
      exports: [RATE_LIMIT_SETTINGS, RateLimitStorage],
    };
    return {
      module: RateLimitModule,
      imports: [
        core,
        ThrottlerModule.forRootAsync({
          imports: [core],
          inject: [RATE_LIMIT_SETTINGS, RateLimitStorage],
          useFactory: (settings: RateLimitSettings, storage: RateLimitStorage) =>
            throttlerOptions(settings.policies, storage),
        }),
      ],
      providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
    };
  }
}
