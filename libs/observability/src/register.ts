// Preloaded with `node --import ./dist/libs/observability/src/register.js <main>`: starts
// OpenTelemetry before any application module loads, so the ESM hooks can instrument them.
import { register } from 'import-in-the-middle/register-hooks.mjs';
import { telemetryRequested } from './settings.js';

// Only the modules the instrumentations patch go through the ESM hook: wrapping every module's
// exports would tax every call in the application (measured: a third of checkout throughput).
// `http` is left to the CommonJS hook: a builtin's ESM namespace wraps the same object, so hooking
// both patched it twice and doubled every outgoing HTTP span. `ioredis` is CommonJS, but the
// application imports it from ESM, which the CommonJS hook does not see.
const INSTRUMENTED = ['pg', 'pg-pool', '@grpc/grpc-js', 'ioredis'];

if (telemetryRequested(process.env)) {
  register({ include: INSTRUMENTED });
  const { startTelemetry } = await import('./sdk.js');
  startTelemetry();
}
