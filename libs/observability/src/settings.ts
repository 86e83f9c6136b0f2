/**
 * Telemetry starts only when an OTLP endpoint (or an explicit exporter) is configured through the
 * standard OTEL_* variables, and OTEL_SDK_DISABLED is not true. Without one the services run
 * untraced and quiet: no exporter retrying a collector that is not there.
 */
export function telemetryRequested(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  return Boolean(
    env.OTEL_EXPORTER_OTLP_ENDPOINT ||
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ||
    (env.OTEL_TRACES_EXPORTER && env.OTEL_TRACES_EXPORTER !== 'none'),
  );
}

const ENABLED = Symbol.for('orders-payments.telemetry');

export function markTelemetryEnabled(): void {
  (globalThis as Record<symbol, unknown>)[ENABLED] = true;
}

/** Whether this process exports telemetry (decides whether domain spans are created at all). */
export function telemetryEnabled(): boolean {
  return (globalThis as Record<symbol, unknown>)[ENABLED] === true;
}

const SHUTDOWN = Symbol.for('orders-payments.telemetry-shutdown');

/** sdk.ts hands over the SDK's shutdown, for the application to call as its last step. */
export function setTelemetryShutdown(shutdown: () => Promise<void>): void {
  (globalThis as Record<symbol, unknown>)[SHUTDOWN] = shutdown;
}

/**
 * Flushes and stops telemetry (spans and metrics not exported yet go out now): the last step of a
 * service's shutdown, after the requests it traces have finished. Safe to call more than once;
 * resolves false when telemetry is off.
 */
export async function shutdownTelemetry(): Promise<boolean> {
  const shutdown = (globalThis as Record<symbol, unknown>)[SHUTDOWN] as
    (() => Promise<void>) | undefined;
  if (!shutdown) return false;
  await shutdown();
  return true;
}
