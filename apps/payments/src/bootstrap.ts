import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { type GrpcOptions, Transport } from '@nestjs/microservices';
import { configureHttp, httpAdapter } from '#common/http.js';
import { ServingState } from '#common/shutdown.js';
import { grpcServerTools } from '#common/grpc-server.js';
import { describeHttpLimits, warnOfUntrustedProxies } from '#common/http-limits.js';
import { ServiceTokens, serviceAuthInterceptor, serviceAuthRefusals } from '#common/grpc-auth.js';
import { serverChannelOptions } from '#common/grpc-channel.js';
import { serverCredentials, warnOfPlaintextGrpc } from '#common/grpc-tls.js';
import { createLogger, PinoNestLogger } from '#common/logging.js';
import { prepareSchema } from '#common/migrations.js';
import { useRequestLogging } from '#common/request-logging.js';
import { useRateLimits } from '#common/rate-limit/rate-limiter.js';
import { traceInstance } from '#observability/spans.js';
import { grpcLoaderOptions, PAYMENTS_PACKAGE, paymentsProtoPath } from '#contracts/grpc.js';
import { AppModule } from './app.module.js';
import { migrationTarget } from './database/database.options.js';
import { STRIPE_WEBHOOK_PATH } from './webhooks/stripe-webhook.controller.js';
import type { PaymentsConfig } from './config.js';

const PAYMENT_SERVICE = `${PAYMENTS_PACKAGE}.PaymentService`;

/**
 * Builds and starts the payments service: HTTP (health, later webhooks) and the gRPC
 * PaymentService with the standard grpc.health.v1 service beside it.
 */
export async function startPaymentsApp(config: PaymentsConfig): Promise<NestFastifyApplication> {
  const logger = createLogger({
    service: 'payments',
    level: config.logLevel,
    pretty: config.nodeEnv === 'development',
  });
  await prepareSchema(migrationTarget(config.database), config.database.migrateOnStart, logger);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.register(config),
    httpAdapter(config.trustedProxies, config.httpLimits),
    {
      logger: new PinoNestLogger(logger),
      bodyParser: false,
      instrument: { instanceDecorator: traceInstance },
    },
  );
  configureHttp(
    app,
    { [STRIPE_WEBHOOK_PATH]: config.webhooks.bodyLimitBytes },
    { nodeEnv: config.nodeEnv },
  );
  useRequestLogging(app, logger);
  useRateLimits(app);

  // The refusals counted since their last summary are logged when the application closes.
  const refusals = serviceAuthRefusals();
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onClose', (_instance, done) => {
      refusals.flush();
      done();
    });
  app.connectMicroservice<GrpcOptions>({
    transport: Transport.GRPC,
    options: {
      package: PAYMENTS_PACKAGE,
      protoPath: paymentsProtoPath(),
      url: `${config.grpc.host}:${config.grpc.port}`,
      loader: grpcLoaderOptions(),
      gracefulShutdown: true,
      credentials: serverCredentials(config.grpcTrust.tls),
      channelOptions: {
        ...serverChannelOptions(config.grpcChannel),
        interceptors: [
          serviceAuthInterceptor(new ServiceTokens(config.grpcTrust.callers), refusals),
        ],
      },
      onLoadPackageDefinition: grpcServerTools(PAYMENT_SERVICE, app.get(ServingState)),
    },
  });

  if (config.nodeEnv === 'production') {
    warnOfUntrustedProxies(logger, config.trustedProxies);
    warnOfPlaintextGrpc(logger, {
      'payments gRPC server': config.grpcTrust.tls,
      'orders gRPC client': config.orders.tls,
    });
  }
  await app.startAllMicroservices();
  await app.listen({ port: config.http.port, host: config.http.host });
  logger.info(describeHttpLimits(config.httpLimits));
  return app;
}
