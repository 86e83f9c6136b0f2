import { type INestApplication, Logger } from '@nestjs/common';
import { shutdownTelemetry } from '#observability/settings.js';
import { ConfigError } from '../config/config.js';
import { PendingMigrationsError } from '../db/migrations.js';
import { shutDown, type ShutdownSettings } from './shutdown.js';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
const SIGNAL_EXIT_CODES: Record<(typeof SIGNALS)[number], number> = { SIGTERM: 143, SIGINT: 130 };

/**
 * Entry point of a service: a configuration problem ends the process with a message naming the
 * variables (and EX_CONFIG), pending migrations it may not apply with the command to run (and
 * EX_TEMPFAIL), anything else with its stack. SIGTERM or SIGINT shuts the service
 * down gracefully (see shutDown), then flushes telemetry; the exit code is 0 when every in-flight
 * request finished, 1 when the grace period cut some or the shutdown failed. A second signal
 * during the shutdown exits at once (128 + the signal's number).
 */
export async function runService<C extends { shutdown: ShutdownSettings }>(
  name: string,
  loadConfig: () => C,
  start: (config: C) => Promise<INestApplication>,
): Promise<void> {
  let config: C;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${name}: ${error.message}`);
    process.exit(78);
  }
  let app: INestApplication;
  try {
    app = await start(config);
  } catch (error) {
    if (!(error instanceof PendingMigrationsError)) throw error;
    console.error(`${name}: ${error.message}`);
    process.exit(error.exitCode);
  }
  const onSignal = (signal: (typeof SIGNALS)[number]) => {
    for (const other of SIGNALS) process.off(other, onSignal);
    for (const other of SIGNALS) process.once(other, forceExit);
    void stop(app, config.shutdown, `${signal} received`).then((code) => process.exit(code));
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

async function stop(
  app: INestApplication,
  settings: ShutdownSettings,
  reason: string,
): Promise<number> {
  const logger = new Logger('Shutdown');
  // Bounds the steps after the servers (background work, pools), which have no grace of their own.
  const deadline = settings.drainDelayMs + 2 * settings.graceMs;
  const watchdog = setTimeout(() => {
    logger.error(`Shutdown did not finish within ${deadline} ms: exiting anyway`);
    process.exit(1);
  }, deadline);
  watchdog.unref();
  let code = 0;
  try {
    const { graceExceeded } = await shutDown(app, settings, reason);
    if (graceExceeded) code = 1;
  } catch (error) {
    logger.error(`Shutdown failed: ${(error as Error).message}`, (error as Error).stack);
    code = 1;
  }
  if (await shutdownTelemetry()) logger.log('Telemetry flushed');
  logger.log(`Exiting with code ${code}`);
  return code;
}

function forceExit(signal: (typeof SIGNALS)[number]): void {
  new Logger('Shutdown').warn(`${signal} received again during shutdown: exiting now`);
  process.exit(SIGNAL_EXIT_CODES[signal]);
}
