import { Module } from '@nestjs/common';
import { ClientsModule, type GrpcOptions, Transport } from '@nestjs/microservices';
import { channelCredentials } from '#common/grpc-tls.js';
import { grpcLoaderOptions, PAYMENTS_PACKAGE, paymentsProtoPath } from '#contracts/grpc.js';
import { ORDERS_CONFIG, type OrdersConfig } from '../config.js';
import { PAYMENTS_GRPC, PaymentsClient } from './payments.client.js';

/** Payments restarting is routine: reconnect within a second or two, not grpc-js's minutes. */
const RECONNECT_BACKOFF = {
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 2000,
};

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
            channelOptions: RECONNECT_BACKOFF,
          },
        }),
      },
    ]),
  ],
  providers: [PaymentsClient],
  exports: [PaymentsClient],
})
export class PaymentsClientModule {}
