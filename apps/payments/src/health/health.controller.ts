import { Controller, Get } from '@nestjs/common';
import {
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { readiness } from '#common/health.js';
import { SkipRateLimit } from '#common/rate-limit/rate-limit.policies.js';
import { ServingState } from '#common/shutdown.js';
import { OutboxRepository } from '../outbox/outbox.repository.js';

@Controller('health')
@SkipRateLimit()
export class HealthController {
  constructor(
    private readonly serving: ServingState,
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly outbox: OutboxRepository,
  ) {}

  /** The process is up; says nothing about its dependencies. */
  @Get('live')
  live() {
    return this.health.check([]);
  }

  /**
   * Ready to take traffic: the database answers. The outbox backlog (notifications orders has
   * not accepted yet, and the age of the oldest) is reported, without deciding readiness: an
   * outage of orders must not take payments (and Stripe's webhooks) down with it.
   */
  @Get('ready')
  ready() {
    return readiness(this.serving, () =>
      this.health.check([
        () => this.database.pingCheck('database', { timeout: 1000 }),
        async () => this.indicators.check('outbox').up({ ...(await this.outbox.backlog()) }),
      ]),
    );
  }
}
