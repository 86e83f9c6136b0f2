import { Controller } from '@nestjs/common';
import { HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { ServiceHealthController } from '#common/runtime/health.controller.js';
import { ServingState } from '#common/runtime/shutdown.js';
import { PaymentsHealthIndicator } from './payments.health.js';

/**
 * orders' readiness reports payments' reachability and the circuit state without deciding it
 * (see PaymentsHealthIndicator).
 */
@Controller('health')
export class HealthController extends ServiceHealthController {
  constructor(
    serving: ServingState,
    health: HealthCheckService,
    database: TypeOrmHealthIndicator,
    private readonly payments: PaymentsHealthIndicator,
  ) {
    super(serving, health, database);
  }

  protected details() {
    return this.payments.check('payments');
  }
}
