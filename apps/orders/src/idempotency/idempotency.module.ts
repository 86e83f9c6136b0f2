import { Module } from '@nestjs/common';
import { IdempotencyCleanup } from './idempotency-cleanup.js';
import { IdempotencyRepository } from './idempotency.repository.js';
import { ReplayCache } from './replay-cache.js';
import { IdempotencyService } from './idempotency.service.js';

@Module({
  providers: [IdempotencyService, IdempotencyRepository, IdempotencyCleanup, ReplayCache],
  exports: [IdempotencyService],
})
export class IdempotencyModule {}
