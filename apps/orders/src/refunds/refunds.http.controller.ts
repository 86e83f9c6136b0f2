import { Body, Controller, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ZodPipe } from '#common/validation.js';
import { CurrentCustomer } from '../auth/current-customer.decorator.js';
import { JwtAuthGuard } from '../auth/jwt-auth.guard.js';
import { IdempotencyKey } from '../idempotency/idempotency-key.decorator.js';
import { IdempotencyService } from '../idempotency/idempotency.service.js';
import { sendOutcome } from '../idempotency/send-outcome.js';
import { toOrderView } from '../orders/order.view.js';
import { type CreateRefundInput, createRefundSchema } from './dto/create-refund.dto.js';
import { toRefundView } from './refund.view.js';
import { RefundsService } from './refunds.service.js';

@Controller('api/v1/orders')
@UseGuards(JwtAuthGuard)
export class RefundsHttpController {
  constructor(
    private readonly refunds: RefundsService,
    private readonly idempotency: IdempotencyService,
  ) {}

  /** 201 with the refund and the order after it. */
  @Post(':id/refunds')
  async create(
    @CurrentCustomer() customerId: string,
    @Param('id') id: string,
    @IdempotencyKey({ required: true }) key: string,
    @Body(new ZodPipe(createRefundSchema)) input: CreateRefundInput,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const outcome = await this.idempotency.execute(
      { customerId, key, method: 'POST', path: `/api/v1/orders/${id}/refunds`, body: request.body },
      async () => {
        const { refund, order } = await this.refunds.refund(customerId, id, input, key);
        return {
          status: 201,
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify({ refund: toRefundView(refund), order: toOrderView(order) }),
        };
      },
    );
    sendOutcome(reply, outcome);
  }
}
