import { Module } from '@nestjs/common';
import { Clock, IdGenerator } from '#common/runtime/clock.js';
import { AuthModule } from '../auth/auth.module.js';
import { IdempotencyModule } from '../idempotency/idempotency.module.js';
import { PaymentsClientModule } from '../payments/payments-client.module.js';
import { OrdersGrpcController } from './orders.grpc.controller.js';
import { OrdersHttpController } from './orders.http.controller.js';
import { OrdersRepository } from './orders.repository.js';
import { OrderCancellationService } from './order-cancellation.service.js';
import { OrdersService } from './orders.service.js';
import { PaymentUpdatesService } from './payment-updates.service.js';

@Module({
  imports: [AuthModule, PaymentsClientModule, IdempotencyModule],
  controllers: [OrdersHttpController, OrdersGrpcController],
  providers: [
    OrdersService,
    OrdersRepository,
    PaymentUpdatesService,
    OrderCancellationService,
    Clock,
    IdGenerator,
  ],
  exports: [OrdersService, OrdersRepository, PaymentUpdatesService],
})
export class OrdersModule {}
