import { Module } from '@nestjs/common';
import { ClientsModule } from '@nestjs/microservices';
import { grpcClientOptions } from '#common/grpc/channel.js';
import { ORDERS_PACKAGE, ordersProtoPath } from '#contracts/grpc.js';
import { PAYMENTS_CONFIG, type PaymentsConfig } from '../config.js';
import { ORDERS_GRPC, OrdersClient } from './orders.client.js';
import { OutboxRelay } from './outbox.relay.js';
import { OutboxRepository } from './outbox.repository.js';

@Module({
  imports: [
    ClientsModule.registerAsync([
      {
        name: ORDERS_GRPC,
        inject: [PAYMENTS_CONFIG],
        useFactory: (config: PaymentsConfig) =>
          grpcClientOptions(
            { package: ORDERS_PACKAGE, protoPath: ordersProtoPath() },
            { url: config.orders.url, tls: config.orders.tls, channel: config.grpcChannel },
          ),
      },
    ]),
  ],
  providers: [OutboxRepository, OutboxRelay, OrdersClient],
  exports: [OutboxRepository, OutboxRelay],
})
export class OutboxModule {}
