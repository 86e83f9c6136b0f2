import { type DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConfigModule } from '#common/config/config.module.js';
import { ApiDocsModule } from './openapi/api-docs.module.js';
import { ORDERS_CONFIG, type OrdersConfig } from './config.js';
import { databaseOptions } from './database/database.options.js';
import { HealthModule } from './health/health.module.js';
import { OrdersModule } from './orders/orders.module.js';
import { ordersRateLimits } from './rate-limit/rate-limits.js';
import { RefundsModule } from './refunds/refunds.module.js';

@Module({})
export class AppModule {
  static register(config: OrdersConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.register(ORDERS_CONFIG, config),
        TypeOrmModule.forRoot(databaseOptions(config.database)),
        HealthModule,
        OrdersModule,
        RefundsModule,
        ordersRateLimits(),
        ...(config.apiDocs.enabled ? [ApiDocsModule] : []),
      ],
    };
  }
}
