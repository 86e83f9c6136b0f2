import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ShutdownModule } from '#common/runtime/shutdown.js';
import { PaymentsClientModule } from '../payments-client/payments-client.module.js';
import { HealthController } from './health.controller.js';
import { PaymentsHealthIndicator } from './payments.health.js';

@Module({
  imports: [
    ShutdownModule,
    TerminusModule.forRoot({ errorLogStyle: 'pretty', logger: false }),
    PaymentsClientModule,
  ],
  controllers: [HealthController],
  providers: [PaymentsHealthIndicator],
})
export class HealthModule {}
