import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Clock, IdGenerator } from '#common/clock.js';
import { Faults } from '../faults.js';
import { StripeModule } from '../stripe/stripe.module.js';
import { Payment } from './payment.entity.js';
import { PaymentsGrpcController } from './payments.grpc.controller.js';
import { PaymentsRepository } from './payments.repository.js';
import { PaymentsService } from './payments.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([Payment]), StripeModule],
  controllers: [PaymentsGrpcController],
  providers: [PaymentsService, PaymentsRepository, Clock, IdGenerator, Faults],
  exports: [Faults],
})
export class PaymentsModule {}
