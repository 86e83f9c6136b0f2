import { Module } from '@nestjs/common';
import { ClientsModule, type GrpcOptions, Transport } from '@nestjs/microservices';
import { clientChannelOptions } from '#common/grpc-channel.js';
import { channelCredentials } from '#common/grpc-tls.js';
import { grpcLoaderOptions, ORDERS_PACKAGE, ordersProtoPath } from '#contracts/grpc.js';
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
        useFactory: (config: PaymentsConfig): GrpcOptions => ({
          transport: Transport.GRPC,
          options: {
            package: ORDERS_PACKAGE,
            protoPath: ordersProtoPath(),
            url: config.orders.url,
            credentials: channelCredentials(config.orders.tls),
            loader: grpcLoaderOptions(),
            channelOptions: clientChannelOptions(config.grpcChannel, config.orders.tls),
          },
        }),
      },
    ]),
  ],
  providers: [OutboxRepository, OutboxRelay, OrdersClient],
  exports: [OutboxRepository, OutboxRelay],
})
export class OutboxModule {}
