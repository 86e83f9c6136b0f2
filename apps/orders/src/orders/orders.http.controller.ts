import { Body, Controller, Get, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimitPolicies } from '#common/rate-limit/rate-limit.policies.js';
import { ZodPipe } from '#common/validation.js';
import { CurrentPrincipal } from '../auth/current-customer.decorator.js';
import { JwtAuthGuard } from '../auth/jwt-auth.guard.js';
import type { Principal } from '../auth/principal.js';
import { Roles } from '../auth/roles.decorator.js';
import { RolesGuard } from '../auth/roles.guard.js';
import {
  type CreateOrderInput,
  createOrderSchema,
  type ListOrdersQuery,
  listOrdersQuerySchema,
} from './dto/create-order.dto.js';
import { type CancelOrderInput, cancelOrderSchema } from './dto/cancel-order.dto.js';
import { IdempotencyKey } from '../idempotency/idempotency-key.decorator.js';
import { IdempotencyService } from '../idempotency/idempotency.service.js';
import { sendOutcome } from '../idempotency/send-outcome.js';
import { type OrderPage, toOrderView, type OrderView } from './order.view.js';
import { OrderCancellationService } from './order-cancellation.service.js';
import { OrdersService } from './orders.service.js';
import {
  CHECKOUT_ADDRESS_POLICY,
  CHECKOUT_POLICY,
  DEFAULT_POLICY,
} from '../rate-limit/rate-limits.js';

@Controller('api/v1/orders')
@UseGuards(JwtAuthGuard, RolesGuard)
export class OrdersHttpController {
  constructor(
    private readonly orders: OrdersService,
    private readonly idempotency: IdempotencyService,
    private readonly cancellation: OrderCancellationService,
  ) {}

  @Post()
  @RateLimitPolicies(DEFAULT_POLICY, CHECKOUT_POLICY, CHECKOUT_ADDRESS_POLICY)
  @Roles('customer')
  async create(
    @CurrentPrincipal() { subject: customerId }: Principal,
    @IdempotencyKey({ required: true }) key: string,
    @Body(new ZodPipe(createOrderSchema)) input: CreateOrderInput,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const outcome = await this.idempotency.execute(
      { customerId, key, method: 'POST', path: '/api/v1/orders', body: request.body },
      async (checkpoint) => {
        const order = await this.orders.createOrder(customerId, input, checkpoint);
        return {
          status: 201,
          headers: {
            'content-type': 'application/json; charset=utf-8',
            location: `/api/v1/orders/${order.id}`,
          },
          body: JSON.stringify(toOrderView(order)),
        };
      },
    );
    sendOutcome(reply, outcome);
  }

  /** 200 with the canceled order; 409 once it has been paid (it needs a refund instead). */
  @Post(':id/cancel')
  @Roles('customer')
  async cancel(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @IdempotencyKey({ required: true }) key: string,
    @Body(new ZodPipe(cancelOrderSchema)) _input: CancelOrderInput,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const path = `/api/v1/orders/${id}/cancel`;
    const outcome = await this.idempotency.execute(
      { customerId: principal.subject, key, method: 'POST', path, body: request.body },
      async () => {
        const order = await this.cancellation.cancel(principal, id);
        return {
          status: 200,
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(toOrderView(order)),
        };
      },
    );
    sendOutcome(reply, outcome);
  }

  @Get(':id')
  @Roles('customer', 'admin')
  async get(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<OrderView> {
    return toOrderView(await this.orders.getOrder(principal, id));
  }

  @Get()
  @Roles('customer')
  async list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodPipe(listOrdersQuerySchema)) query: ListOrdersQuery,
  ): Promise<OrderPage> {
    const page = await this.orders.listOrders(principal, query);
    return { data: page.orders.map(toOrderView), nextCursor: page.nextCursor };
  }
}
