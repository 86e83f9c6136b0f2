import { AsyncLocalStorage } from 'node:async_hooks';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { LogLevel } from '@nestjs/common';
import {
  type Context,
  context,
  type ContextManager,
  ROOT_CONTEXT,
  trace,
  TraceFlags,
} from '@opentelemetry/api';
import { hashKey } from '#observability/spans.js';
import { createLogger, pinoLevel, PinoNestLogger } from './logging.js';
import { requestIdFrom, runInRequest } from './request-context.js';

/** A logger writing JSON into an array, and what it wrote. */
function capture(level: LogLevel = 'verbose') {
  const written: Record<string, unknown>[] = [];
  const logger = createLogger({
    service: 'orders',
    level,
    destination: {
      write: (line: string) => void written.push(JSON.parse(line) as Record<string, unknown>),
    },
  });
  return { logger, nest: new PinoNestLogger(logger), written };
}

/** What the SDK registers when telemetry is on, reduced to what `trace.getActiveSpan` needs. */
class TestContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

describe('logging', () => {
  it('maps LOG_LEVEL to pino levels', () => {
    expect(
      ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'].map((l) => pinoLevel(l as LogLevel)),
    ).toEqual(['fatal', 'error', 'warn', 'info', 'debug', 'trace']);
  });

  it('writes one JSON object a line: level name, ISO time, service, context, msg', () => {
    const { nest, written } = capture();
    nest.log('Nest application successfully started', 'NestApplication');
    expect(written).toEqual([
      {
        level: 'info',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        service: 'orders',
        pid: process.pid,
        hostname: expect.any(String),
        context: 'NestApplication',
        msg: 'Nest application successfully started',
      },
    ]);
  });

  it("reads Nest's calls: context last, stacks of errors, objects as fields", () => {
    const { nest, written } = capture();
    const stack = 'Error: boom\n    at thing (/app/x.js:1:2)';
    nest.error('Stripe call failed', stack, 'StripeGateway');
    nest.error('no stack', undefined, 'Problem');
    nest.error('bare', stack);
    nest.warn('circuit opened', { failures: 5 }, 'PaymentsClient');
    nest.verbose({ msg: 'as object', orderId: 'o1' });
    nest.fatal(new Error('dead'), 'Main');
    expect(
      written.map(({ level, msg, context, stack, failures, orderId }) => ({
        level,
        msg,
        context,
        stack,
        failures,
        orderId,
      })),
    ).toEqual([
      { level: 'error', msg: 'Stripe call failed', context: 'StripeGateway', stack },
      { level: 'error', msg: 'no stack', context: 'Problem' },
      { level: 'error', msg: 'bare', stack },
      { level: 'warn', msg: 'circuit opened', context: 'PaymentsClient', failures: 5 },
      { level: 'trace', msg: 'as object', orderId: 'o1' },
      { level: 'fatal', msg: 'dead', context: 'Main' },
    ]);
    expect(written[5].err).toMatchObject({ type: 'Error', message: 'dead' });
  });

  it('writes nothing below LOG_LEVEL (fatal keeps tests quiet)', () => {
    const { nest, logger, written } = capture('fatal');
    nest.log('started');
    nest.error('failed', undefined, 'X');
    logger.info({ status: 200 }, 'GET / 200');
    expect(written).toEqual([]);
    nest.fatal('down');
    expect(written).toHaveLength(1);

    const { nest: quiet, written: none } = capture('log');
    quiet.debug('hidden');
    quiet.setLogLevels(['fatal', 'error', 'warn', 'log', 'debug']);
    quiet.debug('shown');
    expect(none.map((line) => line.msg)).toEqual(['shown']);
  });

  it('redacts secret headers and fields, and hashes idempotency keys', () => {
    const { logger, written } = capture();
    logger.info(
      {
        req: {
          headers: {
            authorization: 'Bearer eyJ.secret.token',
            cookie: 'session=abc',
            'stripe-signature': 't=1,v1=deadbeef',
            'x-api-key': 'internal-key-0123456789',
            'idempotency-key': 'key-1',
            accept: 'application/json',
          },
        },
        payment: { clientSecret: 'pi_1_secret_2', nested: { client_secret: 'pi_3_secret_4' } },
        password: 'hunter2',
        secret: 's3cr3t',
      },
      'careless',
    );
    const line = JSON.stringify(written[0]);
    for (const secret of [
      'eyJ.secret.token',
      'session=abc',
      'deadbeef',
      'internal-key-0123456789',
      'key-1',
      'pi_1_secret_2',
      'pi_3_secret_4',
      'hunter2',
      's3cr3t',
    ]) {
      expect(line).not.toContain(secret);
    }
    expect(written[0]).toMatchObject({
      req: {
        headers: {
          authorization: '[Redacted]',
          'idempotency-key': `sha256:${hashKey('key-1')}`,
          accept: 'application/json',
        },
      },
      payment: { clientSecret: '[Redacted]', nested: { client_secret: '[Redacted]' } },
    });
  });

  it('accepts a client request id of 1..128 safe characters, else makes a UUID', () => {
    expect(requestIdFrom('test-req-123')).toBe('test-req-123');
    expect(requestIdFrom('A.b_c-9')).toBe('A.b_c-9');
    expect(requestIdFrom('x'.repeat(128))).toBe('x'.repeat(128));
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    for (const refused of [undefined, '', 'x'.repeat(129), 'a b', 'a\nb', 'ü', ['a', 'b']]) {
      expect(requestIdFrom(refused)).toMatch(uuid);
    }
  });

  describe('correlation', () => {
    const manager = new TestContextManager();
    beforeAll(() => {
      context.setGlobalContextManager(manager);
    });
    afterAll(() => context.disable());

    it('adds the request id and the active span to every line, and nothing outside them', async () => {
      const { nest, written } = capture();
      const span = trace.wrapSpanContext({
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: TraceFlags.SAMPLED,
      });
      await runInRequest('req-1', () =>
        context.with(trace.setSpan(context.active(), span), async () => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          nest.log('inside', 'OrdersService');
        }),
      );
      nest.log('outside', 'OutboxRelay');
      expect(written[0]).toMatchObject({
        msg: 'inside',
        request_id: 'req-1',
        trace_id: '0af7651916cd43dd8448eb211c80319c',
        span_id: 'b7ad6b7169203331',
      });
      expect(written[1]).not.toHaveProperty('request_id');
      expect(written[1]).not.toHaveProperty('trace_id');
    });
  });
});
