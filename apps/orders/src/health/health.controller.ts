import { Controller, Get, Inject } from '@nestjs/common';
import { GRPCHealthIndicator, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { readiness } from '#common/health.js';
import { PAYMENTS_PACKAGE } from '#contracts/grpc.js';
import { ORDERS_CONFIG, type OrdersConfig } from '../config.js';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly grpc: GRPCHealthIndicator,
    @Inject(ORDERS_CONFIG) private readonly config: OrdersConfig,
  ) {}

  /** The process is up; says nothing about its dependencies. */
  @Get('live')
  live() {
    return this.health.check([]);
  }

  /** Ready to take orders: the database answers and payments reports SERVING over gRPC health. */
  @Get('ready')
  ready() {
    return readiness(() =>
      this.health.check([
        () => this.database.pingCheck('database', { timeout: 1000 }),
        () =>
          this.grpc.checkService('payments', `${PAYMENTS_PACKAGE}.PaymentService`, {
            url: this.config.payments.url,
            timeout: 1000,
          }),
      ]),
    );
  }
}
