import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { configureHttp, httpAdapter } from '#common/http.js';
import { connectGrpcServer } from '#common/grpc-server.js';
import { describeHttpLimits, warnOfUntrustedProxies } from '#common/http-limits.js';
import { warnOfPlaintextGrpc } from '#common/grpc-tls.js';
import { createLogger, PinoNestLogger } from '#common/logging.js';
import { prepareSchema } from '#common/migrations.js';
import { useRequestLogging } from '#common/request-logging.js';
import { useRateLimits } from '#common/rate-limit/rate-limiter.js';
import { traceInstance } from '#observability/spans.js';
import { PAYMENTS_PACKAGE, paymentsProtoPath } from '#contracts/grpc.js';
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

  connectGrpcServer(app, {
    package: PAYMENTS_PACKAGE,
    service: PAYMENT_SERVICE,
    protoPath: paymentsProtoPath(),
    listen: config.grpc,
    trust: config.grpcTrust,
    channel: config.grpcChannel,
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
