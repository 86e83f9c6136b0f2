import { Module } from '@nestjs/common';
import { Clock, IdGenerator } from '#common/runtime/clock.js';
import { AuthModule } from '../auth/auth.module.js';
import { IdempotencyModule } from '../idempotency/idempotency.module.js';
import { PaymentsClientModule } from '../payments-client/payments-client.module.js';
import { OrderCancellationService } from './order-cancellation.service.js';
import { OrdersGrpcController } from './orders.grpc.controller.js';
import { OrdersHttpController } from './orders.http.controller.js';
import { OrdersRepository } from './orders.repository.js';
import { OrdersService } from './orders.service.js';
import { PaymentReconciliation } from './payment-updates/payment-reconciliation.js';
import { PaymentUpdatesGrpcController } from './payment-updates/payment-updates.grpc.controller.js';
import { PaymentUpdatesHttpController } from './payment-updates/payment-updates.http.controller.js';
import { PaymentUpdatesService } from './payment-updates/payment-updates.service.js';

/**
 * Orders and how they learn their payment's state: pushed by payments over gRPC or HTTP, or pulled
 * by reconciliation (payment-updates/). The repository stays inside: other areas use the services.
 */
@Module({
  imports: [AuthModule, PaymentsClientModule, IdempotencyModule],
  controllers: [
    OrdersHttpController,
    OrdersGrpcController,
    PaymentUpdatesGrpcController,
    PaymentUpdatesHttpController,
  ],
  providers: [
    OrdersService,
    OrdersRepository,
    OrderCancellationService,
    PaymentUpdatesService,
    PaymentReconciliation,
    Clock,
    IdGenerator,
  ],
  exports: [OrdersService, PaymentUpdatesService],
})
export class OrdersModule {}
