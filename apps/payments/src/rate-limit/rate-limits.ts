import type { DynamicModule } from '@nestjs/common';
import { clientAddress } from '#common/rate-limit/rate-limit.policies.js';
import { RateLimitModule } from '#common/rate-limit/rate-limit.module.js';
import { PAYMENTS_CONFIG, type PaymentsConfig } from '../config.js';
import { signatureHeaderProblem } from '../webhooks/stripe-signature.js';

/** Every route but health and the Stripe webhook (and unrouted paths): per client address. */
export const DEFAULT_POLICY = 'default';
/** Stripe deliveries that fail verification, per client address; verified ones are not counted. */
export const WEBHOOK_POLICY = 'webhook';

export function paymentsRateLimits(): DynamicModule {
  return RateLimitModule.forRootAsync({
    inject: [PAYMENTS_CONFIG],
    useFactory: (config: PaymentsConfig) => ({
      store: config.rateLimit.store,
      policies: [
        {
          name: DEFAULT_POLICY,
          ...config.rateLimit.default,
          everywhere: true,
          counts: 'requests',
          tracker: clientAddress,
        },
        {
          name: WEBHOOK_POLICY,
          ...config.rateLimit.webhook,
          everywhere: false,
          counts: 'failures',
          tracker: clientAddress,
          checkHeaders: (request) =>
            signatureHeaderProblem(
              request,
              Math.floor(Date.now() / 1000),
              config.webhooks.toleranceSeconds,
            ),
        },
      ],
    }),
  });
}
