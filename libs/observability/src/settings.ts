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
