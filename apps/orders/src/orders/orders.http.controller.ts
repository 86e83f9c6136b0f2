import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { RateLimitPolicies } from '#common/rate-limit/rate-limit.policies.js';
import { ZodPipe } from '#common/validation.js';
import { CurrentPrincipal } from '../auth/current-principal.decorator.js';
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
import { Idempotent, type KeyedWork } from '../idempotency/idempotent.decorator.js';
import { IdempotencyService } from '../idempotency/idempotency.service.js';
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
    private readonly cancellation: OrderCancellationService,
    readonly idempotency: IdempotencyService,
  ) {}

  @Post()
  @RateLimitPolicies(DEFAULT_POLICY, CHECKOUT_POLICY, CHECKOUT_ADDRESS_POLICY)
  @Roles('customer')
  @Idempotent({ location: (order: OrderView) => `/api/v1/orders/${order.id}` })
  create(
    @CurrentPrincipal() { subject: customerId }: Principal,
    @Body(new ZodPipe(createOrderSchema)) input: CreateOrderInput,
  ): KeyedWork<OrderView> {
    return async (checkpoint) =>
      toOrderView(await this.orders.createOrder(customerId, input, checkpoint));
  }

  /** 200 with the canceled order; 409 once it has been paid (it needs a refund instead). */
  @Post(':id/cancel')
  @HttpCode(200)
  @Roles('customer')
  @Idempotent()
  cancel(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body(new ZodPipe(cancelOrderSchema)) _input: CancelOrderInput,
  ): KeyedWork<OrderView> {
    return async () => toOrderView(await this.cancellation.cancel(principal, id));
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
