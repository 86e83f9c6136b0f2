import { Module } from '@nestjs/common';
import { PaymentsModule } from '../payments/payments.module.js';
import { RefundsModule } from '../refunds/refunds.module.js';
import { StripeModule } from '../stripe/stripe.module.js';
import { StripeEventsRepository } from './stripe-events.repository.js';
import { StripeEventsService } from './stripe-events.service.js';
import { StripeWebhookController } from './stripe-webhook.controller.js';

@Module({
  imports: [PaymentsModule, RefundsModule, StripeModule],
  controllers: [StripeWebhookController],
  providers: [StripeEventsService, StripeEventsRepository],
})
export class WebhooksModule {}
