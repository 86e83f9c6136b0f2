import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Clock, IdGenerator } from '#common/runtime/clock.js';
import { Transactions } from '../database/transaction.js';
import { Faults } from '../faults.js';
import { OutboxModule } from '../outbox/outbox.module.js';
import { Refund } from '../refunds/refund.entity.js';
import { RefundsRepository } from '../refunds/refunds.repository.js';
import { RefundsService } from '../refunds/refunds.service.js';
import { StripeModule } from '../stripe/stripe.module.js';
import { PaymentChanges } from './payment-changes.js';
import { Payment } from './payment.entity.js';
import { PaymentsGrpcController } from './payments.grpc.controller.js';
import { PaymentsRepository } from './payments.repository.js';
import { PaymentsService } from './payments.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([Payment, Refund]), StripeModule, OutboxModule],
  controllers: [PaymentsGrpcController],
  providers: [
    PaymentsService,
    PaymentsRepository,
    PaymentChanges,
    Transactions,
    RefundsService,
    RefundsRepository,
    Clock,
    IdGenerator,
    Faults,
  ],
  exports: [Faults, PaymentChanges, RefundsService, Clock, IdGenerator],
})
export class PaymentsModule {}
