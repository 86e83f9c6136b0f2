import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ZodPipe } from '#common/validation.js';
import { CurrentCustomer } from '../auth/current-customer.decorator.js';
import { JwtAuthGuard } from '../auth/jwt-auth.guard.js';
import {
  type CreateOrderInput,
  createOrderSchema,
  type ListOrdersQuery,
  listOrdersQuerySchema,
} from './dto/create-order.dto.js';
import { toOrderView, type OrderView } from './order.view.js';
import { OrdersService } from './orders.service.js';

@Controller('api/v1/orders')
@UseGuards(JwtAuthGuard)
export class OrdersHttpController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @HttpCode(201)
  async create(
    @CurrentCustomer() customerId: string,
    @Body(new ZodPipe(createOrderSchema)) body: CreateOrderInput,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<OrderView> {
    const order = await this.orders.createOrder(customerId, body);
    void reply.header('location', `/api/v1/orders/${order.id}`);
    return toOrderView(order);
  }

  @Get(':id')
  async get(@CurrentCustomer() customerId: string, @Param('id') id: string): Promise<OrderView> {
    return toOrderView(await this.orders.getOrder(customerId, id));
  }

  @Get()
  async list(
    @CurrentCustomer() customerId: string,
    @Query(new ZodPipe(listOrdersQuerySchema)) query: ListOrdersQuery,
  ): Promise<{ data: OrderView[]; nextCursor: string | null }> {
    const page = await this.orders.listOrders(customerId, query);
    return { data: page.orders.map(toOrderView), nextCursor: page.nextCursor };
  }
}
