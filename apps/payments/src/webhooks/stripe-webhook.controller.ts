import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { RateLimitPolicies } from '#common/rate-limit/rate-limit.policies.js';
import type { FastifyRequest } from 'fastify';
import { WEBHOOK_POLICY } from '../rate-limit/rate-limits.js';
import { StripeGateway } from '../stripe/stripe.gateway.js';
import { type EventOutcome, StripeEventsService } from './stripe-events.service.js';
import { countWebhookEvent } from '#observability/business-metrics.js';
import type Stripe from 'stripe';

export const STRIPE_WEBHOOK_PATH = '/webhooks/stripe';

/** Stripe's deliveries. The signature is checked against the raw bytes before anything else. */
@Controller()
export class StripeWebhookController {
  constructor(
    private readonly stripe: StripeGateway,
    private readonly events: StripeEventsService,
  ) {}

  @Post(STRIPE_WEBHOOK_PATH)
  @HttpCode(200)
  @RateLimitPolicies(WEBHOOK_POLICY)
  async receive(
    @Req() request: FastifyRequest & { rawBody?: Buffer },
    @Headers('stripe-signature') signature: string | undefined,
  ): Promise<{ received: true; outcome: EventOutcome }> {
    let event: Stripe.Event;
    try {
      event = this.stripe.parseWebhook(request.rawBody, signature);
    } catch (error) {
      countWebhookEvent('unverified', 'rejected');
      throw error;
    }
    return { received: true, outcome: await this.events.handle(event) };
  }
}
