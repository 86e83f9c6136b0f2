import { Module } from '@nestjs/common';
import { OutboxModule } from '../outbox/outbox.module.js';
import { PaymentsModule } from '../payments/payments.module.js';
import { StripeModule } from '../stripe/stripe.module.js';
import { StripeEventsService } from './stripe-events.service.js';
import { StripeWebhookController } from './stripe-webhook.controller.js';

@Module({
  imports: [PaymentsModule, StripeModule, OutboxModule],
  controllers: [StripeWebhookController],
  providers: [StripeEventsService],
})
export class WebhooksModule {}
