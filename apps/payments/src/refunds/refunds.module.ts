import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PaymentsModule } from '../payments/payments.module.js';
import { StripeModule } from '../stripe/stripe.module.js';
import { Refund } from './refund.entity.js';
import { RefundsGrpcController } from './refunds.grpc.controller.js';
import { RefundsRepository } from './refunds.repository.js';
import { RefundsService } from './refunds.service.js';

/** Refunds of succeeded payments: asked for over gRPC, settled by Stripe's events. */
@Module({
  imports: [TypeOrmModule.forFeature([Refund]), PaymentsModule, StripeModule],
  controllers: [RefundsGrpcController],
  providers: [RefundsService, RefundsRepository],
  exports: [RefundsService],
})
export class RefundsModule {}
