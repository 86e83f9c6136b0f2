import { Body, Controller, Param, Post, UseGuards } from '@nestjs/common';
import { ZodPipe } from '#common/validation.js';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
import { JwtAuthGuard } from '../auth/jwt-auth.guard.js';
import type { Principal } from '../auth/principal.js';
import { Roles } from '../auth/roles.decorator.js';
import { RolesGuard } from '../auth/roles.guard.js';
import { IdempotencyKey } from '../idempotency/idempotency-key.decorator.js';
import { Idempotent, type KeyedWork } from '../idempotency/idempotent.decorator.js';
import { IdempotencyService } from '../idempotency/idempotency.service.js';
import { type CreateRefundInput, createRefundSchema } from './dto/create-refund.dto.js';
import { type RefundResult, toRefundResult } from './refund.view.js';
import { RefundsService } from './refunds.service.js';

@Controller('api/v1/orders')
@UseGuards(JwtAuthGuard, RolesGuard)
export class RefundsHttpController {
  constructor(
    private readonly refunds: RefundsService,
    readonly idempotency: IdempotencyService,
  ) {}

  /** 201 with the refund and the order after it. An admin may refund any customer's order. */
  @Post(':id/refunds')
  @Roles('customer', 'admin')
  @Idempotent()
  create(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @IdempotencyKey({ required: true }) key: string,
    @Body(new ZodPipe(createRefundSchema)) input: CreateRefundInput,
  ): KeyedWork<RefundResult> {
    return async () => toRefundResult(await this.refunds.refund(principal, id, input, key));
  }
}
