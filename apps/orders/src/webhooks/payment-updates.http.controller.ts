import { Body, Controller, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimitPolicies } from '#common/rate-limit/rate-limit.policies.js';
import { ZodPipe } from '#common/validation.js';
import { IdempotencyKey } from '../idempotency/idempotency-key.decorator.js';
import { IdempotencyService } from '../idempotency/idempotency.service.js';
import { sendOutcome } from '../idempotency/send-outcome.js';
import { toOrderView } from '../orders/order.view.js';
import type { PaymentSnapshot } from '../orders/payment-snapshot.js';
import { PaymentUpdatesService } from '../orders/payment-updates.service.js';
import { WEBHOOK_POLICY } from '../rate-limit/rate-limits.js';
import { paymentUpdateSchema } from './dto/payment-update.dto.js';
import { InternalApiKeyGuard } from './internal-api-key.guard.js';

const PATH = '/api/v1/webhooks/payment-updates';

/**
 * Keys of pushed updates live beside the customers' keys. No customer can own this namespace: a
 * customer id is a JWT subject, which never contains a space.
 */
const PUSH_KEY_OWNER = 'system payment-updates';

/** Payment updates pushed over HTTP by systems that do not speak gRPC. */
@Controller(PATH.slice(1))
@UseGuards(InternalApiKeyGuard)
@RateLimitPolicies(WEBHOOK_POLICY)
export class PaymentUpdatesHttpController {
  constructor(
    private readonly paymentUpdates: PaymentUpdatesService,
    private readonly idempotency: IdempotencyService,
  ) {}

  /** 200 with the order as it stands after the update (unchanged for stale updates). */
  @Post()
  async push(
    @IdempotencyKey({ required: true, header: 'X-Idempotency-Key' }) key: string,
    @Body(new ZodPipe(paymentUpdateSchema)) update: PaymentSnapshot,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const outcome = await this.idempotency.execute(
      { customerId: PUSH_KEY_OWNER, key, method: 'POST', path: PATH, body: request.body },
      async () => {
        const order = await this.paymentUpdates.apply(update, 'payment_update');
        return {
          status: 200,
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(toOrderView(order)),
        };
      },
    );
    sendOutcome(reply, outcome);
  }
}
