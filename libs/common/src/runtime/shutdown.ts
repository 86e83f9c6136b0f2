import { setTimeout as sleep } from 'node:timers/promises';
import type { Server as HttpServer } from 'node:http';
import { Global, Injectable, Logger, Module, type INestApplication } from '@nestjs/common';
import type { Server as GrpcServer } from '@grpc/grpc-js';
import { z } from 'zod';
import { env } from '../config/config.js';

/** How an instance leaves: see `shutDown`. */
export interface ShutdownSettings {
  /** Between readiness failing and the servers closing, so load balancers stop sending traffic. */
  drainDelayMs: number;
  /** How long in-flight requests may take to finish once the servers stop accepting new ones. */
  graceMs: number;
}

/** In production load balancers need a moment to notice that readiness fails; elsewhere not. */
export const PRODUCTION_DRAIN_DELAY_MS = 5_000;

/** The variables of ShutdownSettings, for a service's config schema. */
export const shutdownVariables = {
  SHUTDOWN_DRAIN_DELAY_MS: z.preprocess(
    (value) => (value === '' ? undefined : value),
    z.coerce.number().int('must be an integer').min(0, 'must not be negative').optional(),
  ),
  SHUTDOWN_GRACE_MS: env.positiveInt(10_000),
};

export function shutdownSettings(value: {
  NODE_ENV: string;
  SHUTDOWN_DRAIN_DELAY_MS?: number;
  SHUTDOWN_GRACE_MS: number;
}): ShutdownSettings {
  return {
    drainDelayMs:
      value.SHUTDOWN_DRAIN_DELAY_MS ??
      (value.NODE_ENV === 'production' ? PRODUCTION_DRAIN_DELAY_MS : 0),
    graceMs: value.SHUTDOWN_GRACE_MS,
  };
}

/**
 * Whether this instance still takes new work. Readiness (HTTP and gRPC health) reads it, and
 * shutDown() flips it first, while requests are still served.
 */
@Injectable()
export class ServingState {
  private reason?: string;
  private readonly listeners: (() => void)[] = [];
  private readonly grpcServers: GrpcServer[] = [];

  /** Why readiness fails, once the instance is shutting down. */
  get stoppingReason(): string | undefined {
    return this.reason;
  }

  /** Called once when the instance starts shutting down (e.g. gRPC health to NOT_SERVING). */
  onStopping(listener: () => void): void {
    this.listeners.push(listener);
  }

  stopping(reason: string): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    for (const listener of this.listeners) listener();
  }

  /** For a gRPC transport's `onLoadPackageDefinition`: lets shutDown() close that server. */
  trackGrpcServer(server: GrpcServer): void {
    this.grpcServers.push(server);
  }

  /** @internal for shutDown() */
  get trackedGrpcServers(): readonly GrpcServer[] {
    return this.grpcServers;
  }
}

@Global()
@Module({ providers: [ServingState], exports: [ServingState] })
export class ShutdownModule {}

/** What shutDown() reports: whether every in-flight request had the time to finish. */
export interface ShutdownOutcome {
  graceExceeded: boolean;
}

/**
 * Takes an application out of service without dropping requests: readiness fails first (HTTP 503,
 * gRPC NOT_SERVING) while requests are still served; after `drainDelayMs` the HTTP and gRPC
 * servers stop accepting and in-flight requests get `graceMs` to finish, after which the remaining
 * connections are cut; then Nest's own shutdown runs: background work stops (`onModuleDestroy`),
 * and the database pools close (`onApplicationShutdown`).
 */
export async function shutDown(
  app: INestApplication,
  settings: ShutdownSettings,
  reason: string,
): Promise<ShutdownOutcome> {
  const logger = new Logger('Shutdown');
  const serving = app.get(ServingState);
  logger.log(`${reason}: shutting down; readiness now fails`);
  serving.stopping(reason);

  if (settings.drainDelayMs > 0) {
    logger.log(`Waiting ${settings.drainDelayMs} ms for load balancers to stop sending requests`);
    await sleep(settings.drainDelayMs);
  }

  const http = app.getHttpServer() as HttpServer;
  const grpc = serving.trackedGrpcServers;
  let graceExceeded = false;
  const timer = setTimeout(() => {
    graceExceeded = true;
    logger.warn(
      `Grace period of ${settings.graceMs} ms exceeded: closing the connections still open`,
    );
    http.closeAllConnections();
    for (const server of grpc) server.forceShutdown();
  }, settings.graceMs);
  try {
    const closed = Promise.all([
      closeHttp(app, http),
      ...grpc.map(
        (server) =>
          new Promise<void>((resolve, reject) =>
            server.tryShutdown((error) => (error ? reject(error) : resolve())),
          ),
      ),
    ]);
    // Fastify runs its preClose hooks before it closes the listener: say so only once it has.
    while (http.listening) await sleep(5);
    logger.log(
      `Refusing new connections; in-flight requests have ${settings.graceMs} ms to finish`,
    );
    await closed;
  } finally {
    clearTimeout(timer);
  }
  if (!graceExceeded) logger.log('In-flight requests finished; servers closed');

  logger.log('Stopping background work and closing database connections');
  await app.close();
  logger.log('Application closed: background work stopped, database connections closed');
  return { graceExceeded };
}

/**
 * Closes the HTTP server through Fastify (its onClose hooks run). Node closes the connections
 * idle at that moment only; a keep-alive connection whose request finishes later would stay open
 * for the keep-alive timeout (HTTP_KEEP_ALIVE_TIMEOUT_MS), so idle connections are swept until the
 * server is closed.
 */
async function closeHttp(app: INestApplication, http: HttpServer): Promise<void> {
  const instance = app.getHttpAdapter().getInstance() as { close(): Promise<void> };
  const sweep = setInterval(() => http.closeIdleConnections(), 100);
  try {
    await instance.close();
  } finally {
    clearInterval(sweep);
  }
}
