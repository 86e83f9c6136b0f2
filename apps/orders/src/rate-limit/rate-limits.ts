import type { DynamicModule } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { clientAddress } from '#common/rate-limit/rate-limit.policies.js';
import { RateLimitModule } from '#common/rate-limit/rate-limit.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { Authenticator } from '../auth/authenticator.js';
import { ORDERS_CONFIG, type OrdersConfig } from '../config.js';

/** Every route: per customer, or per client address when anonymous. */
export const DEFAULT_POLICY = 'default';
/** `POST /api/v1/orders` on top of the default: creating orders (and payments) is costly. */
export const CHECKOUT_POLICY = 'checkout';
/** Service-to-service pushes: per client address only, generous, against floods. */
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
      const { store, default: byDefault, checkout, webhook } = config.rateLimit;
      return {
        store,
        policies: [
          { name: DEFAULT_POLICY, ...byDefault, everywhere: true, tracker: customerOrClient },
          { name: CHECKOUT_POLICY, ...checkout, everywhere: false, tracker: customerOrClient },
          { name: WEBHOOK_POLICY, ...webhook, everywhere: false, tracker: clientAddress },
        ],
      };
    },
  });
}
