import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { RateLimitPolicies } from '#common/rate-limit/rate-limit.policies.js';
import { ZodPipe } from '#common/validation.js';
import { Idempotent, type KeyedWork } from '../../idempotency/idempotent.decorator.js';
import { IdempotencyService } from '../../idempotency/idempotency.service.js';
import { toOrderView, type OrderView } from '../order.view.js';
import type { PaymentSnapshot } from './payment-snapshot.js';
import { PaymentUpdatesService } from './payment-updates.service.js';
import { WEBHOOK_POLICY } from '../../rate-limit/rate-limits.js';
import { paymentUpdateSchema } from './dto/payment-update.dto.js';
import { InternalApiKeyGuard } from '../../auth/internal-api-key.guard.js';

/**
 * Keys of pushed updates live beside the customers' keys. No customer can own this namespace: a
 * customer id is a JWT subject, which never contains a space.
 */
const PUSH_KEY_OWNER = 'system payment-updates';

/** Payment updates pushed over HTTP by systems that do not speak gRPC. */
@Controller('api/v1/webhooks/payment-updates')
@UseGuards(InternalApiKeyGuard)
@RateLimitPolicies(WEBHOOK_POLICY)
export class PaymentUpdatesHttpController {
  constructor(
    private readonly paymentUpdates: PaymentUpdatesService,
    readonly idempotency: IdempotencyService,
  ) {}

  /** 200 with the order as it stands after the update (unchanged for stale updates). */
  @Post()
  @HttpCode(200)
  @Idempotent({ header: 'X-Idempotency-Key', owner: PUSH_KEY_OWNER })
  push(@Body(new ZodPipe(paymentUpdateSchema)) update: PaymentSnapshot): KeyedWork<OrderView> {
    return async () => toOrderView(await this.paymentUpdates.apply(update, 'payment_update'));
  }
}
