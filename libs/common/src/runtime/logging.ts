import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import type { LoggerService, LogLevel } from '@nestjs/common';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { type DestinationStream, type Level, type Logger, type LoggerOptions, pino } from 'pino';
import { hashKey } from '#observability/spans.js';
import { currentRequestId } from './request-context.js';

export type { Logger } from 'pino';

const ORDER: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

const PINO_LEVEL: Record<LogLevel, Level> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/** The pino level of a configured LOG_LEVEL (`log` is pino's `info`, `verbose` its `trace`). */
export function pinoLevel(level: LogLevel): Level {
  return PINO_LEVEL[level];
}

/** Request headers that must never reach a log line. */
const SECRET_HEADERS = ['authorization', 'cookie', 'stripe-signature', 'x-api-key'];
/** Idempotency keys may be guessable: logged as the same hash the spans carry. */
const HASHED_HEADERS = ['idempotency-key'];
/** Fields that hold secrets wherever they appear (up to three levels deep). */
const SECRET_FIELDS = ['clientSecret', 'client_secret', 'password', 'secret'];

export const REDACTED_PATHS: string[] = [
  ...[...SECRET_HEADERS, ...HASHED_HEADERS, 'set-cookie'].flatMap((header) =>
    ['req', 'request', 'res', 'response'].map((owner) => `${owner}.headers["${header}"]`),
  ),
  ...[...SECRET_HEADERS, ...HASHED_HEADERS].map((header) => `headers["${header}"]`),
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
];

function censor(value: unknown, path: (string | symbol)[]): string {
  const key = path.at(-1);
  if (typeof key === 'string' && HASHED_HEADERS.includes(key) && typeof value === 'string') {
    return `sha256:${hashKey(value)}`;
  }
  return '[Redacted]';
}

/**
 * What every log line says about where it comes from: the HTTP request in progress (`request_id`)
 * and the active OpenTelemetry span (`trace_id`, `span_id`; absent when telemetry is off).
 */
export function logContext(): Record<string, string> {
  const fields: Record<string, string> = {};
  const requestId = currentRequestId();
  if (requestId) fields.request_id = requestId;
  const span = trace.getActiveSpan()?.spanContext();
  if (span && isSpanContextValid(span)) {
    fields.trace_id = span.traceId;
    fields.span_id = span.spanId;
  }
  return fields;
}

export interface LoggingOptions {
  /** `orders` or `payments`: every line carries it as `service`. */
  service: string;
  /** LOG_LEVEL: the most verbose level written. */
  level: LogLevel;
  /** Human-readable lines (pino-pretty, when installed) instead of JSON: for development. */
  pretty?: boolean;
  /** Where JSON lines go; stdout by default. */
  destination?: DestinationStream;
}

/**
 * The service's pino logger: one JSON object a line on stdout (`level` as a name, `time` in ISO
 * 8601, `service`, `context`, `msg`, `request_id`, `trace_id`, `span_id`), with secrets redacted
 * at the source. `pretty` writes colourful single lines through pino-pretty instead.
 */
export function createLogger(options: LoggingOptions): Logger {
  const common: LoggerOptions = {
    level: pinoLevel(options.level),
    base: { service: options.service, pid: process.pid, hostname: hostname() },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor },
    mixin: logContext,
  };
  const pretty = options.pretty ? prettyPrinter() : undefined;
  if (pretty) {
    return pino({
      ...common,
      transport: {
        target: pretty,
        options: {
          colorize: true,
          singleLine: true,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,service,context',
          messageFormat: '{if context}[{context}] {end}{msg}',
        },
      },
    });
  }
  const logger = pino(
    { ...common, formatters: { level: (label) => ({ level: label }) } },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
  if (options.pretty) logger.warn('pino-pretty is not installed: logging JSON');
  return logger;
}

/** pino-pretty is a development dependency: production images do without it. */
function prettyPrinter(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('pino-pretty');
  } catch {
    return undefined;
  }
}

/** Nest's error and fatal calls put a stack trace after the message. */
function isStack(value: unknown): value is string | undefined {
  return value === undefined || (typeof value === 'string' && /\n[ \t]+at .+/.test(value));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Nest's LoggerService on pino, so that Nest's own messages and every `new Logger(Class.name)`
 * in the code become structured lines. Nest calls it as `(message, ...params, context)`, with a
 * stack trace before the context for errors; plain objects among the params become fields.
 */
export class PinoNestLogger implements LoggerService {
  constructor(readonly pino: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params, true);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params, true);
  }

  /** `app.useLogger([...levels])`: the most verbose level listed becomes pino's level. */
  setLogLevels(levels: LogLevel[]): void {
    const mostVerbose = Math.max(...levels.map((level) => ORDER.indexOf(level)));
    this.pino.level = mostVerbose < 0 ? 'silent' : pinoLevel(ORDER[mostVerbose]);
  }

  private write(level: Level, message: unknown, params: unknown[], withStack = false): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const args = [...params];
    const fields: Record<string, unknown> = {};
    if (withStack && args.length === 1 && isStack(args[0])) {
      fields.stack = args.pop();
    } else {
      if (typeof args.at(-1) === 'string') fields.context = args.pop();
      if (withStack && args.length > 0 && isStack(args.at(-1))) fields.stack = args.pop();
    }
    if (fields.stack === undefined) delete fields.stack;

    const words: string[] = [];
    for (const arg of args) {
      if (isPlainObject(arg)) Object.assign(fields, arg);
      else words.push(String(arg));
    }
    let text: string;
    if (message instanceof Error) {
      fields.err = message;
      text = message.message;
    } else if (isPlainObject(message)) {
      const { msg, message: inner, ...rest } = message;
      Object.assign(fields, rest);
      text = typeof msg === 'string' ? msg : typeof inner === 'string' ? inner : '';
    } else {
      text = String(message);
    }
    this.pino[level](fields, [text, ...words].filter(Boolean).join(' '));
  }
}
