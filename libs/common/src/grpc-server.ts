import type { Server } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import type { ServingState } from './shutdown.js';

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
