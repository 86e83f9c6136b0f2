// Preloaded with `node --import ./dist/libs/observability/src/register.js <main>`: starts
// OpenTelemetry before any application module loads, so the ESM hooks can instrument them.
import { register } from 'import-in-the-middle/register-hooks.mjs';
import { telemetryRequested } from './settings.js';

// Only the modules the instrumentations patch go through the ESM hook: wrapping every module's
// exports would tax every call in the application (measured: a third of checkout throughput).
const INSTRUMENTED = ['http', 'https', 'node:http', 'node:https', 'pg', 'pg-pool', '@grpc/grpc-js'];

if (telemetryRequested(process.env)) {
  register({ include: INSTRUMENTED });
  const { startTelemetry } = await import('./sdk.js');
  startTelemetry();
}
