import { Controller, Get } from '@nestjs/common';
import {
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { readiness, sharedCheck } from '#common/runtime/health.js';
import { SkipRateLimit } from '#common/rate-limit/rate-limit.policies.js';
import { ServingState } from '#common/runtime/shutdown.js';
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
   * not accepted yet, the age of the oldest, and those parked after permanent refusals) is
   * reported, without deciding readiness: an outage of orders must not take payments (and
   * Stripe's webhooks) down with it, and parked notifications are an operator's to replay, not a
   * reason to stop taking webhooks. The details
   * stay in the anonymous answer because operators read the backlog there; they are counts, not
   * timings, and the shared check means a probe's response time shows the database's latency
   * at most once a second.
   */
  @Get('ready')
  ready() {
    return readiness(this.serving, this.check);
  }

  private readonly check = sharedCheck(() =>
    this.health.check([
      () => this.database.pingCheck('database', { timeout: 1000 }),
      () => this.outboxBacklog(),
    ]),
  );

  /**
   * Up whatever the backlog: a backlog that cannot be read (the database is away) is reported as
   * such, since an error thrown from an indicator would turn readiness into a 500.
   */
  private async outboxBacklog() {
    const outbox = this.indicators.check('outbox');
    try {
      return outbox.up({ ...(await this.outbox.backlog()) });
    } catch {
      return outbox.up({ backlog: 'unavailable' });
    }
  }
}
