import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { DEV_TOKEN_FOR, grpcHealth, grpcReflection } from './support/grpc.js';
import { Stack } from './support/stack.js';

/** What a platform engineer with grpcurl finds on both gRPC servers. */
describe('gRPC tooling: health and reflection on both servers (end to end)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const servers = () =>
    [
      { name: 'orders' as const, url: stack.ordersGrpcUrl, service: 'orders.v1.OrderService' },
      {
        name: 'payments' as const,
        url: stack.paymentsGrpcUrl,
        service: 'payments.v1.PaymentService',
      },
    ] as const;

  it('answers grpc.health.v1 for the server and its service, without a token', async () => {
    for (const server of servers()) {
      expect(await grpcHealth(server.url, '')).toBe('SERVING');
      expect(await grpcHealth(server.url, server.service)).toBe('SERVING');
    }
  });

  it('lists and describes its services over reflection to a caller with the service token', async () => {
    for (const server of servers()) {
      const found = await grpcReflection(server.url, server.service, DEV_TOKEN_FOR[server.name]);
      // Only what the server serves: not payments.v1, which orders' proto imports.
      expect(found.services).toEqual(['grpc.health.v1.Health', server.service]);
      expect(found.fileDeclaringSymbol).toBe(true);
    }
  });

  it('refuses reflection without the service token, as the service itself', async () => {
    for (const server of servers()) {
      await expect(grpcReflection(server.url, server.service, null)).rejects.toMatchObject({
        code: status.UNAUTHENTICATED,
      });
    }
  });
});
