import { Controller, Get } from '@nestjs/common';
import { HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { readiness, sharedCheck } from '#common/runtime/health.js';
import { SkipRateLimit } from '#common/rate-limit/rate-limit.policies.js';
import { ServingState } from '#common/runtime/shutdown.js';
import { PaymentsHealthIndicator } from './payments.health.js';

@Controller('health')
@SkipRateLimit()
export class HealthController {
  constructor(
    private readonly serving: ServingState,
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly payments: PaymentsHealthIndicator,
  ) {}

  /** The process is up; says nothing about its dependencies. */
  @Get('live')
  live() {
    return this.health.check([]);
  }

  /**
   * Ready to take traffic: the database answers. payments' reachability and the circuit state are
   * reported in the details without deciding readiness (see PaymentsHealthIndicator). The details
   * are states, not timings; the shared check means a probe costs neither a database round trip
   * nor a call to payments each time, and its response time shows their latency at most once a
   * second.
   */
  @Get('ready')
  ready() {
    return readiness(this.serving, this.check);
  }

  private readonly check = sharedCheck(() =>
    this.health.check([
      () => this.database.pingCheck('database', { timeout: 1000 }),
      () => this.payments.check('payments'),
    ]),
  );
}
