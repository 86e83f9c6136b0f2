// Preloaded with `node --import ./dist/libs/observability/src/register.js <main>`: starts
// OpenTelemetry before any application module loads, so the ESM hooks can instrument them.
import { register } from 'import-in-the-middle/register-hooks.mjs';
import { telemetryRequested } from './settings.js';

if (telemetryRequested(process.env)) {
  register();
  const { startTelemetry } = await import('./sdk.js');
  startTelemetry();
}
