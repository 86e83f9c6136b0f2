import { Inject, Injectable } from '@nestjs/common';
import { GRPCHealthIndicator, HealthIndicatorService } from '@nestjs/terminus';
import { clientConnection } from '#common/grpc/channel.js';
import { PAYMENTS_PACKAGE } from '#contracts/grpc.js';
import { ORDERS_CONFIG, type OrdersConfig } from '../config.js';
import { PaymentsClient } from '../payments-client/payments.client.js';

/**
 * Reports payments' reachability and our circuit state, but always as "up": orders still serves
 * reads, and answers checkouts with a fast 503 while payments is down. Failing readiness here
 * would take every orders instance out of the load balancer for an outage of payments alone.
 */
@Injectable()
export class PaymentsHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly grpc: GRPCHealthIndicator,
    private readonly payments: PaymentsClient,
    @Inject(ORDERS_CONFIG) private readonly config: OrdersConfig,
  ) {}

  async check(key: string) {
    const { url, tls } = this.config.payments;
    const probe = await this.grpc.checkService(key, `${PAYMENTS_PACKAGE}.PaymentService`, {
      ...clientConnection({ url, tls, channel: this.config.grpcChannel }),
      timeout: 1000,
    });
    return this.indicators.check(key).up({
      reachable: probe[key]?.status === 'up',
      circuit: this.payments.circuit,
    });
  }
}
