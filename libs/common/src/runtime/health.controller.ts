import { Get } from '@nestjs/common';
import type {
  HealthCheckService,
  HealthIndicatorResult,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { SkipRateLimit } from '../rate-limit/rate-limit.policies.js';
import { readiness, sharedCheck } from './health.js';
import type { ServingState } from './shutdown.js';

/**
 * A service's `/health/live` and `/health/ready`; the service's controller extends it under
 * `@Controller('health')` and names what readiness reports beside the database.
 */
export abstract class ServiceHealthController {
  constructor(
    private readonly serving: ServingState,
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
  ) {}

  /** The process is up; says nothing about its dependencies. */
  @Get('live')
  @SkipRateLimit()
  live() {
    return this.health.check([]);
  }

  /**
   * Ready to take traffic: the database answers. `details()` is reported beside it without
   * deciding readiness. The details are states or counts, not timings; the shared check means a
   * probe costs neither a database round trip nor the details' work each time, and its response
   * time shows their latency at most once a second.
   */
  @Get('ready')
  @SkipRateLimit()
  ready() {
    return readiness(this.serving, this.check);
  }

  /** What readiness reports beside the database; always `up`, so it never decides readiness. */
  protected abstract details(): Promise<HealthIndicatorResult>;

  private readonly check = sharedCheck(() =>
    this.health.check([
      () => this.database.pingCheck('database', { timeout: 1000 }),
      () => this.details(),
    ]),
  );
}
