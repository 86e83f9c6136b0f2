import { Controller } from '@nestjs/common';
import {
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { ServiceHealthController } from '#common/runtime/health.controller.js';
import { ServingState } from '#common/runtime/shutdown.js';
import { OutboxRepository } from '../outbox/outbox.repository.js';

/**
 * payments' readiness reports the outbox backlog (notifications orders has not accepted yet, the
 * age of the oldest, and those parked after permanent refusals) without deciding it: an outage of
 * orders must not take payments (and Stripe's webhooks) down with it, and parked notifications are
 * an operator's to replay, not a reason to stop taking webhooks. The counts stay in the anonymous
 * answer because operators read the backlog there.
 */
@Controller('health')
export class HealthController extends ServiceHealthController {
  constructor(
    serving: ServingState,
    health: HealthCheckService,
    database: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly outbox: OutboxRepository,
  ) {
    super(serving, health, database);
  }

  /**
   * Up whatever the backlog: a backlog that cannot be read (the database is away) is reported as
   * such, since an error thrown from an indicator would turn readiness into a 500.
   */
  protected async details() {
    const outbox = this.indicators.check('outbox');
    try {
      return outbox.up({ ...(await this.outbox.backlog()) });
    } catch {
      return outbox.up({ backlog: 'unavailable' });
    }
  }
}
