import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { IdempotencyModule } from '../idempotency/idempotency.module.js';
import { OrdersModule } from '../orders/orders.module.js';
import { PaymentsClientModule } from '../payments-client/payments-client.module.js';
import { RefundsHttpController } from './refunds.http.controller.js';
import { RefundsService } from './refunds.service.js';

@Module({
  imports: [AuthModule, OrdersModule, PaymentsClientModule, IdempotencyModule],
  controllers: [RefundsHttpController],
  providers: [RefundsService],
})
export class RefundsModule {}
