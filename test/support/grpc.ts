import { createRequire } from 'node:module';
import {
  type ChannelCredentials,
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
import { DEV_GRPC_TOKENS } from '#common/config/defaults.js';
import { bearer } from '#common/grpc/auth.js';

type UnaryMethod = (
  request: unknown,
  metadata: Metadata,
  callback: (error: ServiceError | null, response: unknown) => void,
) => void;

export interface RawGrpcClient {
  call<T>(method: string, request: unknown, metadata?: Record<string, string>): Promise<T>;
  close(): void;
}

type ServiceName = 'payments' | 'orders';

const SERVICES = {
  payments: { protoPath: paymentsProtoPath, name: 'payments.v1.PaymentService' },
  orders: { protoPath: ordersProtoPath, name: 'orders.v1.OrderService' },
} as const;

/** The token the real caller of each service presents (development defaults). */
export const DEV_TOKEN_FOR: Record<ServiceName, string> = {
  payments: DEV_GRPC_TOKENS.ordersToPayments,
  orders: DEV_GRPC_TOKENS.paymentsToOrders,
};

export interface GrpcClientOptions {
  /** The service token sent on every call; null sends none. Default: the real caller's. */
  token?: string | null;
  /** Default: plaintext. */
  credentials?: ChannelCredentials;
}

/**
 * A plain grpc-js client, built from the protos the way any other service would build one, so
 * tests see exactly what goes over the wire.
 */
export function grpcClient(
  service: ServiceName,
  address: string,
  options: GrpcClientOptions = {},
): RawGrpcClient {
  const { protoPath, name } = SERVICES[service];
  const token = options.token === undefined ? DEV_TOKEN_FOR[service] : options.token;
  return rawClient(protoPath(), name, address, grpcLoaderOptions(), {
    credentials: options.credentials,
    metadata: token === null ? {} : { authorization: bearer(token) },
  });
}

/** Every method of the service, as its proto declares them (`CreatePayment`, ...). */
export function serviceMethods(service: ServiceName): string[] {
  const { protoPath, name } = SERVICES[service];
  return Object.keys(loadSync(protoPath(), grpcLoaderOptions())[name]);
}

/** Asks a server's standard grpc.health.v1 service about one service (no service token). */
export async function grpcHealth(
  address: string,
  service: string,
  channel?: ChannelCredentials,
): Promise<string> {
  const client = rawClient(
    healthProtoPath,
    'grpc.health.v1.Health',
    address,
    { enums: String },
    { credentials: channel },
  );
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
  defaults: { credentials?: ChannelCredentials; metadata?: Record<string, string> } = {},
): RawGrpcClient {
  const root = loadPackageDefinition(loadSync(protoPath, options));
  const Client = name
    .split('.')
    .reduce<GrpcObject | ServiceClientConstructor>(
      (node, key) => (node as GrpcObject)[key] as GrpcObject,
      root,
    ) as ServiceClientConstructor;
  const client = new Client(address, defaults.credentials ?? credentials.createInsecure());
  return {
    call<T>(method: string, request: unknown, metadata: Record<string, string> = {}): Promise<T> {
      const md = new Metadata();
      for (const [key, value] of Object.entries({ ...defaults.metadata, ...metadata })) {
        md.set(key, value);
      }
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

const reflectionProtoPath = createRequire(import.meta.url).resolve(
  '@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto',
);

/**
 * Asks a server's reflection service (grpc.reflection.v1, as `grpcurl list` does) for its services
 * and for the file that declares `symbol`; `token` is the service token sent, null for none.
 */
export async function grpcReflection(
  address: string,
  symbol: string,
  token: string | null,
): Promise<{ services: string[]; fileDeclaringSymbol: boolean }> {
  const root = loadPackageDefinition(loadSync(reflectionProtoPath, { keepCase: false }));
  const Reflection = (root.grpc as GrpcObject).reflection as GrpcObject;
  const Client = (Reflection.v1 as GrpcObject).ServerReflection as ServiceClientConstructor;
  const client = new Client(address, credentials.createInsecure());
  const metadata = new Metadata();
  if (token !== null) metadata.set('authorization', bearer(token));
  try {
    const stream = (
      client as unknown as { serverReflectionInfo(md: Metadata): ClientDuplexStream }
    ).serverReflectionInfo(metadata);
    const answers: Record<string, unknown>[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('data', (answer: Record<string, unknown>) => answers.push(answer));
      stream.on('error', reject);
      stream.on('end', resolve);
    });
    stream.write({ listServices: '' });
    stream.write({ fileContainingSymbol: symbol });
    stream.end();
    await ended;
    const list = answers.find((answer) => answer.listServicesResponse) as
      { listServicesResponse: { service: { name: string }[] } } | undefined;
    const files = answers.find((answer) => answer.fileDescriptorResponse) as
      { fileDescriptorResponse: { fileDescriptorProto: Buffer[] } } | undefined;
    return {
      services: (list?.listServicesResponse.service ?? []).map((service) => service.name).sort(),
      fileDeclaringSymbol: (files?.fileDescriptorResponse.fileDescriptorProto.length ?? 0) > 0,
    };
  } finally {
    client.close();
  }
}

interface ClientDuplexStream {
  on(event: string, listener: (...args: never[]) => void): void;
  write(message: unknown): void;
  end(): void;
}
