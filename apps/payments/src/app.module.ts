import { type DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConfigModule } from '#common/config/config.module.js';
import { PAYMENTS_CONFIG, type PaymentsConfig } from './config.js';
import { databaseOptions } from './database/database.options.js';
import { HealthModule } from './health/health.module.js';
import { PaymentsModule } from './payments/payments.module.js';
import { paymentsRateLimits } from './rate-limit/rate-limits.js';
import { RefundsModule } from './refunds/refunds.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';

@Module({})
export class AppModule {
  static register(config: PaymentsConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.register(PAYMENTS_CONFIG, config),
        TypeOrmModule.forRoot(databaseOptions(config.database)),
        HealthModule,
        PaymentsModule,
        RefundsModule,
        WebhooksModule,
        paymentsRateLimits(),
      ],
    };
  }
}
