import { Logger, type LoggerService } from '@nestjs/common';
import { DomainError } from '../errors.js';

/**
 * SQLSTATEs of a database that is away for a while rather than of a statement that is wrong:
 * class 08 (connection exception), class 53 (insufficient resources: too many connections, out of
 * memory or disk), and 57P01-57P03 (terminated by an administrator or a crash, cannot connect
 * now: shutting down, starting up, in recovery).
 */
const TRANSIENT_SQLSTATE = /^(08...|53...|57P0[123])$/;

/** Socket and resolver errors of a connection that was lost, refused or never answered. */
const TRANSIENT_ERRNO = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/** pg's and pg-pool's own messages for a connection lost, timed out or no longer usable. */
const PG_MESSAGES = [
  /^Connection terminated/, // unexpectedly, or due to connection timeout (pg-pool)
  /^timeout exceeded when trying to connect$/, // pg-pool: no connection within connectionTimeoutMillis
  /^Client has encountered a connection error and is not queryable$/,
  /^Client was closed and is not queryable$/,
];

/** TypeORM's errors for a data source that is not connected (yet, or any more, as on shutdown). */
const TYPEORM_NOT_CONNECTED_MESSAGE = /^Driver not Connected$/;
const TYPEORM_NOT_CONNECTED = new Set([
  'ConnectionIsNotSetError',
  'CannotExecuteNotConnectedError',
  'CannotGetEntityManagerNotConnectedError',
]);

interface ErrorFields {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  driverError?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/**
 * Whether an error says the database is unreachable or briefly unable to serve (a lost or
 * refused connection, a server shutting down, restarting or in recovery, too many connections,
 * no pool connection within the acquire timeout), as opposed to a defect or a refused statement.
 * Such a failure is worth a retry: it answers 503 / UNAVAILABLE and never becomes a final answer.
 * Looks through TypeORM's `driverError`, `cause` chains and AggregateErrors (a connect to a name
 * with several addresses).
 */
export function isTransientDatabaseError(error: unknown): boolean {
  return transientReason(error) !== undefined;
}

/** A short, bounded label for a transient database error (its SQLSTATE, errno or pg message). */
export function transientReason(error: unknown, depth = 0): string | undefined {
  if (depth > 4 || typeof error !== 'object' || error === null) return undefined;
  // A DomainError is a decision already taken by the code that raised it, whatever its cause.
  if (error instanceof DomainError) return undefined;
  const { name, code, message, driverError, cause, errors } = error as ErrorFields;
  if (typeof code === 'string' && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_ERRNO.has(code))) {
    return code;
  }
  if (typeof name === 'string' && TYPEORM_NOT_CONNECTED.has(name)) return name;
  if (typeof message === 'string' && TYPEORM_NOT_CONNECTED_MESSAGE.test(message)) return message;
  if (typeof message === 'string' && PG_MESSAGES.some((pattern) => pattern.test(message))) {
    return message;
  }
  const aggregated: unknown[] = Array.isArray(errors) ? errors : [];
  for (const inner of [driverError, cause, ...aggregated]) {
    const reason = transientReason(inner, depth + 1);
    if (reason) return reason;
  }
  return undefined;
}

/**
 * When to retry after a transient database failure. A restart or a failover takes seconds, and
 * each early retry is cheap (refused at once, or answered from the recovery point).
 */
export const DATABASE_RETRY_AFTER_SECONDS = 1;

/** The answer to a transient database failure: 503 / UNAVAILABLE with a Retry-After. */
export function databaseUnavailable(cause: unknown): DomainError {
  return new DomainError('unavailable', 'The database is briefly unavailable; retry shortly.', [], {
    retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
    cause,
  });
}

/** How long transient database failures are counted before their summary is logged. */
export const DATABASE_OUTAGE_LOG_WINDOW_MS = 10_000;

/**
 * Logs transient database failures as what they are, a dependency that is away (a warning
 * without a stack), and so that an outage makes a bounded number of lines whatever the traffic:
 * the first failure of a window is logged at once, the others are counted and logged as one
 * summary line when the window ends.
 */
export class DatabaseOutageLog {
  private window?: { started: number; timer: NodeJS.Timeout; reasons: Map<string, number> };

  constructor(
    private readonly logger: Pick<LoggerService, 'warn'>,
    private readonly windowMs = DATABASE_OUTAGE_LOG_WINDOW_MS,
  ) {}

  /** Records a transient database failure (see isTransientDatabaseError). */
  record(error: unknown): void {
    const reason = transientReason(error) ?? 'unknown';
    if (this.window) {
      this.window.reasons.set(reason, (this.window.reasons.get(reason) ?? 0) + 1);
      return;
    }
    // unref: a pending summary never keeps the process alive.
    const timer = setTimeout(() => this.flush(), this.windowMs).unref();
    this.window = { started: Date.now(), timer, reasons: new Map() };
    const message = error instanceof Error ? error.message : String(error);
    this.logger.warn(
      `Database unavailable (${reason}: ${message}): requests answer 503 / UNAVAILABLE and ` +
        'background jobs retry until it is back',
    );
  }

  /** Logs the summary of the window so far and starts afresh. */
  flush(): void {
    if (!this.window) return;
    const { started, timer, reasons } = this.window;
    clearTimeout(timer);
    this.window = undefined;
    const total = [...reasons.values()].reduce((sum, n) => sum + n, 0);
    if (total === 0) return;
    const seconds = Math.max(1, Math.round((Date.now() - started) / 1000));
    const counts = [...reasons].map(([reason, n]) => `${reason}: ${n}`).join(', ');
    this.logger.warn(
      `Database unavailable: ${total} more operations failed in the last ${seconds} s (${counts})`,
    );
  }
}

/** The process's one log of transient database failures (HTTP, gRPC and background jobs). */
export const databaseOutages = new DatabaseOutageLog(new Logger('Database'));

/**
 * An error as the service answers it: a transient database failure becomes `unavailable` (and
 * is logged as such, see databaseOutages); any other error is returned unchanged.
 */
export function asServiceError(error: unknown): unknown {
  if (!isTransientDatabaseError(error)) return error;
  databaseOutages.record(error);
  return databaseUnavailable(error);
}

/**
 * How a background job (outbox relay, reconciliation, clean-up) reports a failed round, which it
 * simply retries later: a transient database failure goes to databaseOutages, anything else is a
 * warning naming the job.
 */
export function reportJobFailure(
  logger: Pick<LoggerService, 'warn'>,
  job: string,
  error: unknown,
): void {
  if (isTransientDatabaseError(error)) databaseOutages.record(error);
  else logger.warn(`${job} failed: ${error instanceof Error ? error.message : String(error)}`);
}

/** Settings of a service's database connection pool (from its validated configuration). */
export interface DatabasePoolSettings {
  poolSize: number;
  /**
   * How long a query waits for a connection (from the pool, or a new one) before failing.
   * Unset (one-off command-line tools): as long as it takes.
   */
  connectTimeoutMs?: number;
}

/**
 * The pg pool options both services use. pg waits for a connection forever by default: with the
 * database unreachable (packets dropped) or the pool exhausted, requests would hang instead of
 * failing transiently. Idle connections the server drops (a restart) are logged as an outage.
 */
export function poolOptions({ poolSize, connectTimeoutMs }: DatabasePoolSettings) {
  return {
    extra: { max: poolSize, connectionTimeoutMillis: connectTimeoutMs },
    poolErrorHandler: (error: unknown) =>
      reportJobFailure(poolLogger, 'Idle database connection', error),
  };
}

const poolLogger = new Logger('DatabasePool');
