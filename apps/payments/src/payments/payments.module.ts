import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Clock, IdGenerator } from '#common/runtime/clock.js';
import { Transactions } from '../database/transaction.js';
import { Faults } from '../fault-injection/faults.js';
import { OutboxModule } from '../outbox/outbox.module.js';
import { StripeModule } from '../stripe/stripe.module.js';
import { PaymentChanges } from './payment-changes.js';
import { Payment } from './payment.entity.js';
import { PaymentsGrpcController } from './payments.grpc.controller.js';
import { PaymentsRepository } from './payments.repository.js';
import { PaymentsService } from './payments.service.js';

/**
 * Payments and their one way to change (PaymentChanges: the row, its version and the notification
 * to orders in one transaction), which refunds and Stripe's events use too.
 */
@Module({
  imports: [TypeOrmModule.forFeature([Payment]), StripeModule, OutboxModule],
  controllers: [PaymentsGrpcController],
  providers: [
    PaymentsService,
    PaymentsRepository,
    PaymentChanges,
    Transactions,
    Clock,
    IdGenerator,
    Faults,
  ],
  exports: [Faults, PaymentChanges, Clock, IdGenerator],
})
export class PaymentsModule {}
