import { afterEach, describe, expect, it } from '@jest/globals';
import { grpcHealth } from './support/grpc.js';
import { expectProblem, type OrderBody, postOrder } from './support/http.js';
import { ProcessStack } from './support/process-stack.js';
import type { ServiceProcess } from './support/service-process.js';
import { tokenFor } from './support/stack.js';
import { waitFor } from './support/wait.js';

/** Waits (bounded generously) until the service has logged a line containing `text`. */
async function logged(service: ServiceProcess, text: string): Promise<void> {
  await waitFor(
    () => `${service.name} to log "${text}":\n${service.output}`,
    () => service.output.includes(text) || undefined,
    { timeoutMs: 20_000, intervalMs: 25 },
  );
}

/** How a new connection to `url` fares: its status, or the network error's code. */
async function attempt(url: string): Promise<number | string> {
  try {
    return (await fetch(url)).status;
  } catch (error) {
    return ((error as Error).cause as { code?: string } | undefined)?.code ?? 'failed';
  }
}

/** The exit of a process: bounded generously, so a hang fails the test instead of stalling it. */
async function exitOf(service: ServiceProcess): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${service.name} did not exit:\n${service.output}`)),
      30_000,
    );
  });
  try {
    return (await Promise.race([service.exited, limit])).code;
  } finally {
    clearTimeout(timer);
  }
}

function expectInOrder(output: string, steps: string[]): void {
  const positions = steps.map((step) => output.indexOf(step));
  expect(steps.filter((_, i) => positions[i] < 0)).toEqual([]);
  expect(positions).toEqual([...positions].sort((a, b) => a - b));
}

// Long enough for the test to see readiness fail before the servers close; the test does not
// wait for it to pass, it waits for the log line that ends it.
const DRAIN = { SHUTDOWN_DRAIN_DELAY_MS: '1500' };

/**
 * SIGTERM to a real service process while a checkout is in flight (held at the Stripe stand-in):
 * readiness fails first, new connections are refused, the checkout still completes, and the
 * process exits 0. With a grace period too short for the held request, the process still exits,
 * and says why.
 */
describe('graceful shutdown (separate processes)', () => {
  let stack: ProcessStack | undefined;

  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it.each(['payments', 'orders'] as const)(
    'finishes a checkout in flight when %s gets SIGTERM, refusing new connections meanwhile',
    async (name) => {
      stack = await ProcessStack.start({ [name]: DRAIN });
      const service = stack[name];
      const url = name === 'orders' ? stack.ordersUrl : stack.paymentsUrl;
      const token = await tokenFor('customer-shutdown');

      const hold = stack.stripe.holdNext();
      const checkout = postOrder(stack.ordersUrl, token);
      await hold.reached;

      service.signal('SIGTERM');
      await logged(service, 'SIGTERM received: shutting down; readiness now fails');
      const ready = await fetch(`${url}/health/ready`);
      const problem = await expectProblem(ready, 503, '/problems/unavailable');
      expect(problem.detail).toMatch(/shutting down/);
      if (name === 'payments') {
        const grpc = `127.0.0.1:${stack.ports.paymentsGrpc}`;
        expect(await grpcHealth(grpc, 'payments.v1.PaymentService')).toBe('NOT_SERVING');
      }

      await logged(service, 'Refusing new connections');
      expect(await attempt(`${url}/health/live`)).toBe('ECONNREFUSED');

      hold.release();
      const response = await checkout;
      expect(response.status).toBe(201);
      const order = (await response.json()) as OrderBody;
      expect(order.status).toBe('awaiting_payment');
      expect(order.payment?.clientSecret).toMatch(/^pi_.+_secret_/);

      expect(await exitOf(service)).toBe(0);
      const background =
        name === 'payments'
          ? 'Background job stopped: Outbox delivery round'
          : 'Background job stopped: Reconciliation';
      expectInOrder(service.output, [
        'SIGTERM received: shutting down; readiness now fails',
        'Waiting 1500 ms for load balancers',
        'Refusing new connections',
        'In-flight requests finished; servers closed',
        background,
        'database connections closed',
        'Telemetry flushed',
        'Exiting with code 0',
      ]);
    },
  );

  it('exits, saying so, when a request outlives the grace period', async () => {
    stack = await ProcessStack.start({
      payments: { SHUTDOWN_GRACE_MS: '300' },
    });
    const token = await tokenFor('customer-grace');
    const hold = stack.stripe.holdNext();
    const checkout = postOrder(stack.ordersUrl, token);
    await hold.reached;

    stack.payments.signal('SIGTERM');

    expect(await exitOf(stack.payments)).toBe(1);
    expect(stack.payments.output).toContain('Grace period of 300 ms exceeded');
    expect(stack.payments.output).not.toContain('In-flight requests finished');
    // orders is told the call was cut, and answers instead of waiting.
    await expectProblem(await checkout, 503, '/problems/unavailable');
    hold.release();
  });

  it('exits at once on a second signal during the shutdown', async () => {
    stack = await ProcessStack.start({ payments: { SHUTDOWN_DRAIN_DELAY_MS: '600000' } });
    stack.payments.signal('SIGTERM');
    await logged(stack.payments, 'Waiting 600000 ms for load balancers');
    stack.payments.signal('SIGINT');

    expect(await exitOf(stack.payments)).toBe(130);
    expect(stack.payments.output).toContain('SIGINT received again during shutdown');
  });
});
