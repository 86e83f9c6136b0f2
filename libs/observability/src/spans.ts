import { createHash } from 'node:crypto';
import {
  type Attributes,
  type Link,
  type Span,
  SpanStatusCode,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import { telemetryEnabled } from './settings.js';

let cachedTracer: Tracer | undefined;

export function tracer(): Tracer {
  // The API's proxy tracer follows the SDK even when it registers later; one lookup suffices.
  return (cachedTracer ??= trace.getTracer('orders-payments'));
}

/** Adds domain attributes (order id, amount, ...) to the span of the work in progress. */
export function annotate(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/** Records a span event (e.g. a circuit breaker transition) on the span in progress. */
export function recordEvent(name: string, attributes?: Attributes): void {
  trace.getActiveSpan()?.addEvent(name, attributes);
}

/** Idempotency keys are client-chosen and may be guessable; spans carry a hash. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 16);
}

/** Runs `work` in a new active span, ended (with the error recorded) when it settles. */
export function inSpan<T>(
  name: string,
  options: { attributes?: Attributes; links?: Link[] },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer().startActiveSpan(name, options, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}

const UNTRACED = Symbol('untraced');

/**
 * Keeps a method out of the `ClassName.method` spans: plumbing whose work the spans around and
 * inside it already tell (a retry wrapper, a private step of a traced use case).
 */
export function Untraced(): MethodDecorator {
  return (_target, _key, descriptor) => {
    Object.defineProperty(descriptor.value, UNTRACED, { value: true });
  };
}

const SKIPPED = new Set([
  'constructor',
  'onModuleInit',
  'onModuleDestroy',
  'onApplicationBootstrap',
  'onApplicationShutdown',
  'beforeApplicationShutdown',
]);

/**
 * Classes whose methods appear as `ClassName.method` spans: the project's own moving parts. A name
 * before the suffix leaves out libraries' generic classes (TypeORM's `Repository`), whose work
 * already shows as database spans. Our repositories are left out too: each method is one named
 * statement, whose `pg.query:<statement>` span already says which step it is (a checkout was six
 * spans heavier, each repeating the database span inside it).
 */
const TRACED = /^\w+(Service|Client|Gateway|Relay|Reconciliation|Changes)$/;

/**
 * NestJS `instrument.instanceDecorator`: wraps the async methods of our services, repositories
 * and clients so each call is a `ClassName.method` span. A no-op when telemetry is off.
 */
export function traceInstance(instance: unknown): unknown {
  if (!telemetryEnabled() || !instance || typeof instance !== 'object') return instance;
  const name = instance.constructor?.name ?? '';
  if (!TRACED.test(name)) return instance;
  for (const method of methodNames(instance)) {
    const original = (instance as Record<string, unknown>)[method] as (
      ...args: unknown[]
    ) => unknown;
    const spanName = `${name}.${method}`;
    Object.defineProperty(instance, method, {
      configurable: true,
      writable: true,
      value(this: unknown, ...args: unknown[]) {
        return tracer().startActiveSpan(spanName, (span) => {
          try {
            const result = original.apply(this, args);
            if (result instanceof Promise) {
              return result.then(
                (value: unknown) => {
                  span.end();
                  return value;
                },
                (error: unknown) => {
                  span.recordException(error as Error);
                  span.setStatus({ code: SpanStatusCode.ERROR });
                  span.end();
                  throw error;
                },
              );
            }
            span.end();
            return result;
          } catch (error) {
            span.recordException(error as Error);
            span.setStatus({ code: SpanStatusCode.ERROR });
            span.end();
            throw error;
          }
        });
      },
    });
  }
  return instance;
}

function methodNames(instance: object): string[] {
  const names = new Set<string>();
  for (
    let proto = Object.getPrototypeOf(instance) as object | null;
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      const descriptor = Object.getOwnPropertyDescriptor(proto, key);
      // Only async methods: the units of I/O worth a span; sync helpers would only add noise.
      const value: unknown = descriptor?.value;
      if (
        !SKIPPED.has(key) &&
        typeof value === 'function' &&
        value.constructor.name === 'AsyncFunction' &&
        !(UNTRACED in value)
      ) {
        names.add(key);
      }
    }
  }
  return [...names];
}
