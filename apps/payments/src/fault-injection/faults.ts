import { Inject, Injectable, Logger } from '@nestjs/common';
import { DomainError } from '#common/errors.js';
import { PAYMENTS_CONFIG, type PaymentsConfig } from '../config.js';

export type FaultPoint =
  | 'after-stripe-create-intent'
  // A refund or cancel done (at Stripe and here) whose answer never reaches orders.
  | 'after-refund'
  | 'after-cancel';

/**
 * Test-only fault injection: a test arms a point, and the next pass through it fails as if the
 * process had died there (the caller sees UNAVAILABLE). Disabled unless configured, and the
 * configuration refuses it outside NODE_ENV=test.
 */
@Injectable()
export class Faults {
  private readonly logger = new Logger(Faults.name);
  private readonly armed = new Map<FaultPoint, number>();

  constructor(@Inject(PAYMENTS_CONFIG) private readonly config: PaymentsConfig) {}

  arm(point: FaultPoint, times = 1): void {
    if (!this.config.faultInjection) throw new Error('Fault injection is disabled.');
    this.armed.set(point, times);
  }

  trip(point: FaultPoint): void {
    const remaining = this.armed.get(point) ?? 0;
    if (remaining <= 0) return;
    this.armed.set(point, remaining - 1);
    this.logger.warn(`Injected fault at ${point}`);
    throw new DomainError('unavailable', `Injected fault at ${point}.`);
  }
}
