import {
  type GrpcObject,
  loadPackageDefinition,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceClientConstructor,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { grpcLoaderOptions, IDEMPOTENCY_KEY_METADATA, ordersProtoPath } from '#contracts/grpc.js';
import { DEV_GRPC_TOKENS } from '#common/config/defaults.js';
import { serviceAuthInterceptor, ServiceTokens } from '#common/grpc/auth.js';
import type { UpdateOrderPaymentStatusRequest } from '#contracts/generated/orders/v1/orders.js';

/** A notification as the fake received it, with the status it answered. */
export interface ReceivedUpdate {
  request: UpdateOrderPaymentStatusRequest;
  idempotencyKey?: string;
  answered: status;
}

/**
 * A scripted orders.v1.OrderService for testing payments' outbox without the real orders: it
 * answers UpdateOrderPaymentStatus for each order with the status chosen for it (OK by default;
 * NOT_FOUND with orders' own message, as orders answers for an order it does not know), records
 * every call, and checks payments' (development) service token like orders does.
 */
export class FakeOrders {
  readonly received: ReceivedUpdate[] = [];
  private readonly answers = new Map<string, status>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeOrders> {
    const root = loadPackageDefinition(loadSync(ordersProtoPath(), grpcLoaderOptions()));
    const service = ((root.orders as GrpcObject).v1 as GrpcObject)
      .OrderService as ServiceClientConstructor;
    const server = new Server({
      interceptors: [
        serviceAuthInterceptor(
          new ServiceTokens([{ caller: 'payments', token: DEV_GRPC_TOKENS.paymentsToOrders }]),
        ),
      ],
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    const fake = new FakeOrders(server, `127.0.0.1:${port}`);
    server.addService(service.service, {
      GetOrder: (_call: unknown, callback: sendUnaryData<unknown>) =>
        callback({ code: status.UNIMPLEMENTED, details: 'not scripted' }),
      UpdateOrderPaymentStatus: (
        call: ServerUnaryCall<UpdateOrderPaymentStatusRequest, unknown>,
        callback: sendUnaryData<unknown>,
      ) => {
        const { request } = call;
        const [key] = call.metadata.get(IDEMPOTENCY_KEY_METADATA);
        const answered = fake.answers.get(request.orderId) ?? status.OK;
        fake.received.push({
          request,
          idempotencyKey: typeof key === 'string' ? key : undefined,
          answered,
        });
        if (answered === status.OK) {
          callback(null, { order: { id: request.orderId, paymentId: request.paymentId } });
        } else {
          const details =
            answered === status.NOT_FOUND
              ? `Order ${request.orderId} does not exist.`
              : `scripted status ${answered}`;
          callback({ code: answered, details });
        }
      },
    });
    return fake;
  }

  /** Answers every notification about `orderId` with `code` from now on (OK accepts them). */
  answer(orderId: string, code: status): void {
    this.answers.set(orderId, code);
  }

  /** The notifications received about `orderId`, oldest first. */
  callsFor(orderId: string): ReceivedUpdate[] {
    return this.received.filter((call) => call.request.orderId === orderId);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }
}
