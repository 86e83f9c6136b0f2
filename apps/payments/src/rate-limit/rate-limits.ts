import type { DynamicModule } from '@nestjs/common';
import { clientAddress } from '#common/rate-limit/rate-limit.policies.js';
import { RateLimitModule } from '#common/rate-limit/rate-limit.module.js';
import { PAYMENTS_CONFIG, type PaymentsConfig } from '../config.js';

/** Stripe's deliveries (and any other HTTP route but health): per client address, generous. */
export const WEBHOOK_POLICY = 'webhook';

export function paymentsRateLimits(): DynamicModule {
  return RateLimitModule.forRootAsync({
    inject: [PAYMENTS_CONFIG],
    useFactory: (config: PaymentsConfig) => ({
      store: config.rateLimit.store,
      policies: [
        {
          name: WEBHOOK_POLICY,
          ...config.rateLimit.webhook,
          everywhere: true,
          tracker: clientAddress,
        },
      ],
    }),
  });
}
