import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { grpcClient, grpcError } from './support/grpc.js';
import { ProcessStack } from './support/process-stack.js';

/**
 * A flood of refused gRPC calls, as a misconfigured or hostile peer sends them, against payments
 * running as in production: its log stays a few lines that still say how many and from where.
 */
describe('refused gRPC calls in the log (end to end, separate processes)', () => {
  let stack: ProcessStack;

  beforeAll(async () => {
    stack = await ProcessStack.start();
  }, 60_000);

  afterAll(() => stack?.stop());

  it('logs 1,000 refused calls from one address as the first refusal and one summary', async () => {
    const wrong = grpcClient('payments', stack.paymentsGrpcUrl, {
      token: 'a-service-token-nobody-issued-0123456789abcdef',
    });
    const none = grpcClient('payments', stack.paymentsGrpcUrl, { token: null });
    const refused = (client: typeof wrong) =>
      grpcError(client.call('GetPayment', { paymentId: '00000000-0000-4000-8000-000000000000' }));
    try {
      expect((await refused(wrong)).code).toBe(status.UNAUTHENTICATED);
      // 999 more, in batches of 111 concurrent calls, over two connections.
      for (let batch = 0; batch < 9; batch++) {
        const calls = [
          ...Array.from({ length: 55 }, () => refused(wrong)),
          ...Array.from({ length: 56 }, () => refused(none)),
        ];
        const errors = await Promise.all(calls);
        expect(errors.every((error) => error.code === status.UNAUTHENTICATED)).toBe(true);
      }
    } finally {
      wrong.close();
      none.close();
    }

    // The summary of the window still open is logged when the service shuts down.
    await stack.payments.stop();
    await stack.payments.exited;
    const refusals = stack.payments.output
      .split('\n')
      .filter((line) => line.trim().startsWith('{'))
      .map((line) => JSON.parse(line) as { context?: string; level: string; msg: string })
      .filter((line) => line.context === 'ServiceAuth');
    expect(refusals).toHaveLength(2);
    expect(refusals[0]).toMatchObject({
      level: 'warn',
      msg: expect.stringMatching(
        /^refused \/payments\.v1\.PaymentService\/GetPayment from 127\.0\.0\.1:\d+: unknown service credential$/,
      ),
    });
    const summary =
      /^refused (\d+) more gRPC calls from 127\.0\.0\.1 in the last \d+ s \((.+)\)$/.exec(
        refusals[1].msg,
      );
    expect(refusals[1].level).toBe('warn');
    expect(summary?.[1]).toBe('999');
    expect(summary?.[2].split(', ').sort()).toEqual([
      'no service credential: 504',
      'unknown service credential: 495',
    ]);
  });
});
