import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ShutdownModule } from '#common/runtime/shutdown.js';
import { OutboxModule } from '../outbox/outbox.module.js';
import { HealthController } from './health.controller.js';

@Module({
  imports: [
    ShutdownModule,
    TerminusModule.forRoot({ errorLogStyle: 'pretty', logger: false }),
    OutboxModule,
  ],
  controllers: [HealthController],
})
export class HealthModule {}
