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
import { ORDERS_PACKAGE, ordersProtoPath } from '#contracts/grpc.js';
import { AppModule } from './app.module.js';
import { migrationTarget } from './database/database.options.js';
import type { OrdersConfig } from './config.js';
import { enableCors } from './cors.js';

const ORDER_SERVICE = `${ORDERS_PACKAGE}.OrderService`;

/** Builds and starts the orders service: the storefront's REST API and the gRPC OrderService. */
export async function startOrdersApp(config: OrdersConfig): Promise<NestFastifyApplication> {
  const logger = createLogger({
    service: 'orders',
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
  configureHttp(app, {}, { nodeEnv: config.nodeEnv });
  enableCors(app, config.corsOrigins);
  useRequestLogging(app, logger);
  useRateLimits(app);
  connectGrpcServer(app, {
    package: ORDERS_PACKAGE,
    service: ORDER_SERVICE,
    protoPath: ordersProtoPath(),
    listen: config.grpc,
    trust: config.grpcTrust,
    channel: config.grpcChannel,
  });
  if (config.nodeEnv === 'production') {
    warnOfUntrustedProxies(logger, config.trustedProxies);
    warnOfPlaintextGrpc(logger, {
      'orders gRPC server': config.grpcTrust.tls,
      'payments gRPC client': config.payments.tls,
    });
  }
  await app.startAllMicroservices();
  await app.listen({ port: config.http.port, host: config.http.host });
  logger.info(describeHttpLimits(config.httpLimits));
  return app;
}
