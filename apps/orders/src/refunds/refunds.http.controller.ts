import { Body, Controller, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ZodPipe } from '#common/validation.js';
import { CurrentPrincipal } from '../auth/current-customer.decorator.js';
import { JwtAuthGuard } from '../auth/jwt-auth.guard.js';
import type { Principal } from '../auth/principal.js';
import { Roles } from '../auth/roles.decorator.js';
import { RolesGuard } from '../auth/roles.guard.js';
import { IdempotencyKey } from '../idempotency/idempotency-key.decorator.js';
import { IdempotencyService } from '../idempotency/idempotency.service.js';
import { sendOutcome } from '../idempotency/send-outcome.js';
import { toOrderView } from '../orders/order.view.js';
import { type CreateRefundInput, createRefundSchema } from './dto/create-refund.dto.js';
import { type RefundResult, toRefundView } from './refund.view.js';
import { RefundsService } from './refunds.service.js';

@Controller('api/v1/orders')
@UseGuards(JwtAuthGuard, RolesGuard)
export class RefundsHttpController {
  constructor(
    private readonly refunds: RefundsService,
    private readonly idempotency: IdempotencyService,
  ) {}

  /** 201 with the refund and the order after it. An admin may refund any customer's order. */
  @Post(':id/refunds')
  @Roles('customer', 'admin')
  async create(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @IdempotencyKey({ required: true }) key: string,
    @Body(new ZodPipe(createRefundSchema)) input: CreateRefundInput,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const outcome = await this.idempotency.execute(
      {
        customerId: principal.subject,
        key,
        method: 'POST',
        path: `/api/v1/orders/${id}/refunds`,
        body: request.body,
      },
      async () => {
        const { refund, order } = await this.refunds.refund(principal, id, input, key);
        const result: RefundResult = { refund: toRefundView(refund), order: toOrderView(order) };
        return {
          status: 201,
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(result),
        };
      },
    );
    sendOutcome(reply, outcome);
  }
}
