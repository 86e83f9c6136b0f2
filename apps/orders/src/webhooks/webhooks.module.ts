import { Module } from '@nestjs/common';
import { IdempotencyModule } from '../idempotency/idempotency.module.js';
import { OrdersModule } from '../orders/orders.module.js';
import { InternalApiKeyGuard } from './internal-api-key.guard.js';
import { PaymentUpdatesHttpController } from './payment-updates.http.controller.js';

@Module({
  imports: [OrdersModule, IdempotencyModule],
  controllers: [PaymentUpdatesHttpController],
  providers: [InternalApiKeyGuard],
})
export class WebhooksModule {}
