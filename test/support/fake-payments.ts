import {
  type GrpcObject,
  loadPackageDefinition,
  Server,
  ServerCredentials,
  type ServiceClientConstructor,
  type sendUnaryData,
  type status,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { grpcLoaderOptions, paymentsProtoPath } from '#contracts/grpc.js';

/**
 * A scripted payments.v1.PaymentService for testing orders' client against answers the real
 * payments service only gives in rare situations: each CreatePayment is counted and answered with
 * the status the test set.
 */
export class FakePayments {
  calls = 0;
  answer: status = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakePayments> {
    const root = loadPackageDefinition(loadSync(paymentsProtoPath(), grpcLoaderOptions()));
    const service = ((root.payments as GrpcObject).v1 as GrpcObject)
      .PaymentService as ServiceClientConstructor;
    const server = new Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    const fake = new FakePayments(server, `127.0.0.1:${port}`);
    server.addService(service.service, {
      CreatePayment: (_call: unknown, callback: sendUnaryData<unknown>) => {
        fake.calls++;
        callback({ code: fake.answer, details: `scripted status ${fake.answer}` });
      },
    });
    return fake;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }
}
