import {
  context,
  propagation,
  ROOT_CONTEXT,
  trace,
  type Context,
  type SpanContext,
} from '@opentelemetry/api';

/** The W3C traceparent of the span in progress, to store beside data that outlives the request. */
export function currentTraceparent(): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/** The context a stored traceparent names, for continuing or linking to that trace later. */
export function contextFrom(traceparent: string | null | undefined): Context {
  return traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
}

export function spanContextFrom(traceparent: string | null | undefined): SpanContext | undefined {
  return traceparent ? trace.getSpanContext(contextFrom(traceparent)) : undefined;
}
