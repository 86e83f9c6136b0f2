import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { startService } from '#common/runtime/bootstrap.js';
import { ORDERS_PACKAGE, ordersProtoPath } from '#contracts/grpc.js';
import { AppModule } from './app.module.js';
import { migrationTarget } from './database/database.options.js';
import type { OrdersConfig } from './config.js';
import { enableCors } from './cors.js';

/** Builds and starts the orders service: the storefront's REST API and the gRPC OrderService. */
export function startOrdersApp(config: OrdersConfig): Promise<NestFastifyApplication> {
  return startService(config, {
    name: 'orders',
    module: AppModule.register(config),
    migrations: migrationTarget(config.database),
    grpc: {
      package: ORDERS_PACKAGE,
      service: `${ORDERS_PACKAGE}.OrderService`,
      protoPath: ordersProtoPath(),
    },
    configureApp: (app) => enableCors(app, config.corsOrigins),
    grpcClients: { payments: config.payments.tls },
  });
}
