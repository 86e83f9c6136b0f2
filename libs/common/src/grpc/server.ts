import type { Server } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { type GrpcOptions, Transport } from '@nestjs/microservices';
import { grpcLoaderOptions } from '#contracts/grpc.js';
import {
  type ServiceCredential,
  ServiceTokens,
  serviceAuthInterceptor,
  serviceAuthRefusals,
} from './auth.js';
import { type GrpcChannelSettings, serverChannelOptions } from './channel.js';
import { type ServerTls, serverCredentials } from './tls.js';
import { ServingState } from '../runtime/shutdown.js';

const HEALTH_SERVICE = 'grpc.health.v1.Health';

/**
 * What every gRPC server of the project carries beside its service: the standard
 * `grpc.health.v1` service (open to anyone, like the HTTP health checks: SERVING for the server and
 * `service`, NOT_SERVING once shutdown begins) and server reflection (`grpc.reflection.v1` and
 * `v1alpha`, so `grpcurl list` and `describe` work, listing `service` and the health service), which the service-token interceptor guards like the service
 * itself: the schema is in the repository, but a peer that holds no token has no business here.
 * Returns Nest's `onLoadPackageDefinition` hook.
 */
export function grpcServerTools(
  service: string,
  serving: ServingState,
): (definition: PackageDefinition, server: Server) => void {
  const health = new HealthImplementation({ '': 'SERVING', [service]: 'SERVING' });
  serving.onStopping(() => {
    health.setStatus('', 'NOT_SERVING');
    health.setStatus(service, 'NOT_SERVING');
  });
  return (definition, server) => {
    health.addToServer(server);
    // The health service is described too; services of imported protos are not listed.
    const described = { ...definition, ...loadSync(healthProtoPath) };
    new ReflectionService(described, { services: [service, HEALTH_SERVICE] }).addToServer(server);
    serving.trackGrpcServer(server);
  };
}

/** Where and how a service's gRPC server listens, and whom it lets in. */
export interface GrpcServerSettings {
  /** The proto package and the fully qualified service it serves (`payments.v1.PaymentService`). */
  package: string;
  service: string;
  protoPath: string;
  listen: { host: string; port: number };
  trust: { callers: ServiceCredential[]; tls: ServerTls | undefined };
  channel: GrpcChannelSettings;
}

/**
 * Connects the service's gRPC server to the app: service-token checks (refusals logged once per
 * peer and window, the pending summary when the app closes), TLS when configured, the connection
 * age and keepalive policy, graceful shutdown, health and reflection (grpcServerTools).
 */
export function connectGrpcServer(app: NestFastifyApplication, settings: GrpcServerSettings): void {
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
      package: settings.package,
      protoPath: settings.protoPath,
      url: `${settings.listen.host}:${settings.listen.port}`,
      loader: grpcLoaderOptions(),
      gracefulShutdown: true,
      credentials: serverCredentials(settings.trust.tls),
      channelOptions: {
        ...serverChannelOptions(settings.channel),
        interceptors: [serviceAuthInterceptor(new ServiceTokens(settings.trust.callers), refusals)],
      },
      onLoadPackageDefinition: grpcServerTools(settings.service, app.get(ServingState)),
    },
  });
}
