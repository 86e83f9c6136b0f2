import { Module } from '@nestjs/common';
import { ClientsModule, type GrpcOptions, Transport } from '@nestjs/microservices';
import { clientChannelOptions } from '#common/grpc-channel.js';
import { channelCredentials } from '#common/grpc-tls.js';
import { grpcLoaderOptions, PAYMENTS_PACKAGE, paymentsProtoPath } from '#contracts/grpc.js';
import { ORDERS_CONFIG, type OrdersConfig } from '../config.js';
import { PAYMENTS_GRPC, PaymentsClient } from './payments.client.js';

@Module({
  imports: [
    ClientsModule.registerAsync([
      {
        name: PAYMENTS_GRPC,
        inject: [ORDERS_CONFIG],
        useFactory: (config: OrdersConfig): GrpcOptions => ({
          transport: Transport.GRPC,
          options: {
            package: PAYMENTS_PACKAGE,
            protoPath: paymentsProtoPath(),
            url: config.payments.url,
            credentials: channelCredentials(config.payments.tls),
            loader: grpcLoaderOptions(),
            channelOptions: clientChannelOptions(config.grpcChannel, config.payments.tls),
          },
        }),
      },
    ]),
  ],
  providers: [PaymentsClient],
  exports: [PaymentsClient],
})
export class PaymentsClientModule {}
