import type { DynamicModule, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { traceInstance } from '#observability/spans.js';
import type { GrpcChannelSettings } from '../grpc/channel.js';
import { connectGrpcServer, type GrpcServerSettings } from '../grpc/server.js';
import { type ClientTls, type ServerTls, warnOfPlaintextGrpc } from '../grpc/tls.js';
import { configureHttp, httpAdapter } from '../http/server.js';
import { describeHttpLimits, type HttpLimits, warnOfUntrustedProxies } from '../http/limits.js';
import { createLogger, PinoNestLogger } from './logging.js';
import { type MigrationTarget, prepareSchema } from '../db/migrations.js';
import { useRateLimits } from '../rate-limit/rate-limiter.js';
import { useRequestLogging } from '../http/request-logging.js';

/** The part of a service's validated configuration every service starts the same way with. */
export interface ServiceConfig {
  nodeEnv: string;
  logLevel: LogLevel;
  http: { host: string; port: number };
  grpc: { host: string; port: number };
  grpcTrust: GrpcServerSettings['trust'];
  grpcChannel: GrpcChannelSettings;
  database: { migrateOnStart: boolean };
  trustedProxies: readonly string[];
  httpLimits: HttpLimits;
}

/** What sets one service apart from the other at start-up. */
export interface ServiceDefinition {
  /** `orders` or `payments`: the logger's `service` and the gRPC warnings' prefix. */
  name: string;
  module: DynamicModule;
  migrations: MigrationTarget;
  /** The proto package it serves (`payments.v1`) and its service (`payments.v1.PaymentService`). */
  grpc: { package: string; service: string; protoPath: string };
  /** Routes that take larger bodies than the default (see configureHttp). */
  bodyLimits?: Record<string, number>;
  /** HTTP setup of this service alone (CORS, say), applied before request logging and limits. */
  configureApp?: (app: NestFastifyApplication) => void;
  /** The TLS material of each of its gRPC clients, by peer: a missing one is warned of. */
  grpcClients: Record<string, ClientTls | undefined>;
}

/**
 * Builds and starts a service: the schema checked or migrated first (see prepareSchema), then the
 * Fastify app with the project's HTTP conventions, request logging and rate limits, its gRPC
 * server beside it (connectGrpcServer), and in production a warning for each trust setting left
 * open. Resolves once both servers listen.
 */
export async function startService(
  config: ServiceConfig,
  service: ServiceDefinition,
): Promise<NestFastifyApplication> {
  const logger = createLogger({
    service: service.name,
    level: config.logLevel,
    pretty: config.nodeEnv === 'development',
  });
  await prepareSchema(service.migrations, config.database.migrateOnStart, logger);
  const app = await NestFactory.create<NestFastifyApplication>(
    service.module,
    httpAdapter(config.trustedProxies, config.httpLimits),
    {
      logger: new PinoNestLogger(logger),
      bodyParser: false,
      instrument: { instanceDecorator: traceInstance },
    },
  );
  configureHttp(app, service.bodyLimits, { nodeEnv: config.nodeEnv });
  service.configureApp?.(app);
  useRequestLogging(app, logger);
  useRateLimits(app);
  connectGrpcServer(app, {
    ...service.grpc,
    listen: config.grpc,
    trust: config.grpcTrust,
    channel: config.grpcChannel,
  });
  if (config.nodeEnv === 'production') {
    warnOfUntrustedProxies(logger, config.trustedProxies);
    const links: Record<string, ServerTls | ClientTls | undefined> = {
      [`${service.name} gRPC server`]: config.grpcTrust.tls,
    };
    for (const [peer, tls] of Object.entries(service.grpcClients)) {
      links[`${peer} gRPC client`] = tls;
    }
    warnOfPlaintextGrpc(logger, links);
  }
  await app.startAllMicroservices();
  await app.listen({ port: config.http.port, host: config.http.host });
  logger.info(describeHttpLimits(config.httpLimits));
  return app;
}
