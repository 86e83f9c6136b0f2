import {
  credentials,
  type GrpcObject,
  loadPackageDefinition,
  Metadata,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { grpcLoaderOptions, ordersProtoPath, paymentsProtoPath } from '#contracts/grpc.js';

type UnaryMethod = (
  request: unknown,
  metadata: Metadata,
  callback: (error: ServiceError | null, response: unknown) => void,
) => void;

export interface RawGrpcClient {
  call<T>(method: string, request: unknown, metadata?: Record<string, string>): Promise<T>;
  close(): void;
}

/**
 * A plain grpc-js client, built from the protos the way any other service would build one, so
 * tests see exactly what goes over the wire.
 */
export function grpcClient(service: 'payments' | 'orders', address: string): RawGrpcClient {
  return service === 'payments'
    ? rawClient(paymentsProtoPath(), 'payments.v1.PaymentService', address, grpcLoaderOptions())
    : rawClient(ordersProtoPath(), 'orders.v1.OrderService', address, grpcLoaderOptions());
}

/** Asks a server's standard grpc.health.v1 service about one service. */
export async function grpcHealth(address: string, service: string): Promise<string> {
  const client = rawClient(healthProtoPath, 'grpc.health.v1.Health', address, { enums: String });
  try {
    return (await client.call<{ status: string }>('check', { service })).status;
  } finally {
    client.close();
  }
}

function rawClient(
  protoPath: string,
  name: string,
  address: string,
  options: Options,
): RawGrpcClient {
  const root = loadPackageDefinition(loadSync(protoPath, options));
  const Client = name
    .split('.')
    .reduce<GrpcObject | ServiceClientConstructor>(
      (node, key) => (node as GrpcObject)[key] as GrpcObject,
      root,
    ) as ServiceClientConstructor;
  const client = new Client(address, credentials.createInsecure());
  return {
    call<T>(method: string, request: unknown, metadata: Record<string, string> = {}): Promise<T> {
      const md = new Metadata();
      for (const [key, value] of Object.entries(metadata)) md.set(key, value);
      const unary = (client as unknown as Record<string, UnaryMethod>)[method];
      return new Promise<T>((resolve, reject) => {
        unary.call(client, request, md, (error, response) =>
          error ? reject(error) : resolve(response as T),
        );
      });
    },
    close: () => client.close(),
  };
}

export async function grpcError(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the call to fail');
}
