import { Module } from '@nestjs/common';
import { JwtAuthGuard } from '../auth/jwt-auth.guard.js';
import { IdempotencyModule } from '../idempotency/idempotency.module.js';
import { OrdersModule } from '../orders/orders.module.js';
import { PaymentsClientModule } from '../payments/payments-client.module.js';
import { RefundsHttpController } from './refunds.http.controller.js';
import { RefundsService } from './refunds.service.js';

@Module({
  imports: [OrdersModule, PaymentsClientModule, IdempotencyModule],
  controllers: [RefundsHttpController],
  providers: [RefundsService, JwtAuthGuard],
})
export class RefundsModule {}
