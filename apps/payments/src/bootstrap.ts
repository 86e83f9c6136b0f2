import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { startService } from '#common/runtime/bootstrap.js';
import { PAYMENTS_PACKAGE, paymentsProtoPath } from '#contracts/grpc.js';
import { AppModule } from './app.module.js';
import { migrationTarget } from './database/database.options.js';
import { STRIPE_WEBHOOK_PATH } from './webhooks/stripe-webhook.controller.js';
import type { PaymentsConfig } from './config.js';

/**
 * Builds and starts the payments service: HTTP (health, Stripe's webhooks) and the gRPC
 * PaymentService with the standard grpc.health.v1 service beside it.
 */
export function startPaymentsApp(config: PaymentsConfig): Promise<NestFastifyApplication> {
  return startService(config, {
    name: 'payments',
    module: AppModule.register(config),
    migrations: migrationTarget(config.database),
    grpc: {
      package: PAYMENTS_PACKAGE,
      service: `${PAYMENTS_PACKAGE}.PaymentService`,
      protoPath: paymentsProtoPath(),
    },
    // Stripe's events get their own limit (STRIPE_WEBHOOK_BODY_LIMIT_KB).
    bodyLimits: { [STRIPE_WEBHOOK_PATH]: config.webhooks.bodyLimitBytes },
    grpcClients: { orders: config.orders.tls },
  });
}
