import type { DynamicModule } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { clientAddress } from '#common/rate-limit/rate-limit.policies.js';
import { RateLimitModule } from '#common/rate-limit/rate-limit.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { Authenticator } from '../auth/authenticator.js';
import { ORDERS_CONFIG, type OrdersConfig } from '../config.js';
import { InternalApiKey } from '../auth/internal-api-key.js';

/** Every route: per customer, or per client address when anonymous. */
export const DEFAULT_POLICY = 'default';
/** `POST /api/v1/orders` on top of the default: creating orders (and payments) is costly. */
export const CHECKOUT_POLICY = 'checkout';
/**
 * Checkouts per client address, whichever customers they are for: a card-testing ring holds many
 * accounts, each under its own checkout limit.
 */
export const CHECKOUT_ADDRESS_POLICY = 'checkout_address';
/** Service-to-service pushes with a wrong API key, per client address; valid ones are not counted. */
export const WEBHOOK_POLICY = 'webhook';

/**
 * orders' rate limits. A request counts against its token's customer only when the token
 * verifies: an invalid token is anonymous, so random tokens cannot mint fresh buckets.
 */
export function ordersRateLimits(): DynamicModule {
  return RateLimitModule.forRootAsync({
    imports: [AuthModule],
    inject: [ORDERS_CONFIG, Authenticator],
    useFactory: (config: OrdersConfig, authenticator: Authenticator) => {
      const customerOrClient = async (request: FastifyRequest) => {
        const principal = await authenticator.principalOf(request);
        return principal ? `customer:${principal.subject}` : clientAddress(request);
      };
      const apiKey = new InternalApiKey(config.internalApiKey);
      const { store, checkoutAddress, checkout, webhook } = config.rateLimit;
      return {
        store,
        policies: [
          {
            name: DEFAULT_POLICY,
            ...config.rateLimit.default,
            everywhere: true,
            counts: 'requests',
            tracker: customerOrClient,
          },
          {
            name: CHECKOUT_POLICY,
            ...checkout,
            everywhere: false,
            counts: 'requests',
            tracker: customerOrClient,
          },
          {
            name: CHECKOUT_ADDRESS_POLICY,
            ...checkoutAddress,
            everywhere: false,
            counts: 'requests',
            tracker: clientAddress,
          },
          {
            name: WEBHOOK_POLICY,
            ...webhook,
            everywhere: false,
            counts: 'failures',
            tracker: clientAddress,
            checkHeaders: (request) => apiKey.problemWith(request),
          },
        ],
      };
    },
  });
}
