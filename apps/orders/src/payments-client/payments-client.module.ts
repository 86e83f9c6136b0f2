import { Module } from '@nestjs/common';
import { ClientsModule } from '@nestjs/microservices';
import { grpcClientOptions } from '#common/grpc/channel.js';
import { PAYMENTS_PACKAGE, paymentsProtoPath } from '#contracts/grpc.js';
import { ORDERS_CONFIG, type OrdersConfig } from '../config.js';
import { PAYMENTS_GRPC, PaymentsClient } from './payments.client.js';

@Module({
  imports: [
    ClientsModule.registerAsync([
      {
        name: PAYMENTS_GRPC,
        inject: [ORDERS_CONFIG],
        useFactory: (config: OrdersConfig) =>
          grpcClientOptions(
            { package: PAYMENTS_PACKAGE, protoPath: paymentsProtoPath() },
            { url: config.payments.url, tls: config.payments.tls, channel: config.grpcChannel },
          ),
      },
    ]),
  ],
  providers: [PaymentsClient],
  exports: [PaymentsClient],
})
export class PaymentsClientModule {}
