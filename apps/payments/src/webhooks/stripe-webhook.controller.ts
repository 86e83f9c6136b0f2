import { Controller, Headers, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type Stripe from 'stripe';
import { DomainError } from '#common/errors.js';
import { RawBody } from '#common/http/server.js';
import { RateLimitPolicies } from '#common/rate-limit/rate-limit.policies.js';
import { RateLimiter } from '#common/rate-limit/rate-limiter.js';
import { countWebhookEvent } from '#observability/business-metrics.js';
import { WEBHOOK_POLICY } from '../rate-limit/rate-limits.js';
import { PAYMENTS_CONFIG, type PaymentsConfig } from '../config.js';
import { StripeSignatures } from './stripe-signature.js';
import { checkedEvent } from './stripe-event-envelope.js';
import { type EventOutcome, StripeEventsService } from './stripe-events.service.js';

export const STRIPE_WEBHOOK_PATH = '/webhooks/stripe';

/**
 * Stripe's deliveries. The body arrives as raw bytes, unparsed; the signature header was already
 * checked for form and freshness before they were read (see signatureHeaderProblem). The
 * signature is verified on those bytes, and only a verified event is parsed. Deliveries that do
 * not verify count against their address's webhook budget; verified ones never do.
 */
@Controller()
export class StripeWebhookController {
  private readonly signatures: StripeSignatures;

  constructor(
    @Inject(PAYMENTS_CONFIG) config: PaymentsConfig,
    private readonly events: StripeEventsService,
    private readonly limiter: RateLimiter,
  ) {
    this.signatures = new StripeSignatures(
      config.webhooks.secrets,
      config.webhooks.toleranceSeconds,
    );
  }

  @Post(STRIPE_WEBHOOK_PATH)
  @HttpCode(200)
  @RateLimitPolicies(WEBHOOK_POLICY)
  @RawBody()
  async receive(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('stripe-signature') signature: string,
  ): Promise<{ received: true; outcome: EventOutcome }> {
    const body = request.body;
    const now = Math.floor(Date.now() / 1000);
    if (!Buffer.isBuffer(body) || !this.signatures.verifies(body, signature, now)) {
      countWebhookEvent('unverified', 'rejected');
      throw (
        (await this.limiter.refuseFailure(request, reply, WEBHOOK_POLICY)) ??
        new DomainError('bad_request', 'The Stripe signature does not verify.')
      );
    }
    return { received: true, outcome: await this.events.handle(parseEvent(body)) };
  }
}

function parseEvent(body: Buffer): Stripe.Event {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new DomainError('bad_request', 'The Stripe event is not valid JSON.');
  }
  return checkedEvent(parsed);
}
