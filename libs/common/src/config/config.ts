import { isIP } from 'node:net';
import { z } from 'zod';

/** Raised at boot when the environment does not describe a runnable service. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Validates the environment against a schema whose keys are the variable names. Every problem is
 * reported at once, each naming its variable, so an operator fixes them in one go. A message
 * never repeats the value received: many variables hold secrets, and these messages are printed.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const result = schema.safeParse(env, { error: describeWithoutInput });
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const key = issue.path.join('.') || '(environment)';
      return `${key}: ${withoutValue(issue.message, env[String(issue.path[0])])}`;
    }),
  );
}

/**
 * Zod's own messages for the checks that carry no message of ours, built from the schema alone
 * (never from `issue.input`): a future zod message quoting the input would leak a secret.
 */
function describeWithoutInput(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'is required' : `must be of type ${issue.expected}`;
    case 'invalid_value':
      return `must be one of: ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      return `must be at least ${issue.minimum}`;
    case 'too_big':
      return `must be at most ${issue.maximum}`;
    case 'invalid_format':
      if (issue.format === 'starts_with') return `must start with ${String(issue.prefix)}`;
      if (issue.format === 'regex') return `must match ${String(issue.pattern)}`;
      return `must be a valid ${issue.format}`;
    default:
      return 'is invalid';
  }
}

/** The last line of defence for messages of ours (refinements) that might quote the value (secrets are
 * long; shorter values such as `none` are too common in messages to be hidden). */
function withoutValue(message: string, value: string | undefined): string {
  if (!value || value.length < 8) return message;
  return message.split(value).join('[value hidden]');
}

/** Shared variable shapes. Empty strings count as unset, as they do in most .env tooling. */
export const env = {
  port: (fallback: number) =>
    z.preprocess(
      emptyToUndefined,
      z.coerce
        .number({ error: 'must be a port number' })
        .int('must be a port number')
        .min(0, 'must be a port number between 0 and 65535')
        .max(65535, 'must be a port number between 0 and 65535')
        .default(fallback),
    ),
  positiveInt: (fallback: number) =>
    z.preprocess(
      emptyToUndefined,
      z.coerce.number().int('must be an integer').positive('must be positive').default(fallback),
    ),
  nonNegativeInt: (fallback: number) =>
    z.preprocess(
      emptyToUndefined,
      z.coerce.number().int('must be an integer').min(0, 'must not be negative').default(fallback),
    ),
  postgresUrl: () =>
    z.preprocess(
      emptyToUndefined,
      z
        .url({ error: 'must be a postgres:// URL' })
        .refine((value) => /^postgres(ql)?:\/\//.test(value), 'must be a postgres:// URL'),
    ),
  /**
   * A gRPC target name as grpc-js resolves it: `host:port` and `dns:///host:port` (every address
   * the name resolves to), `ipv4:`/`ipv6:` address lists, or a `unix:` socket path.
   */
  grpcTarget: (fallback: string) =>
    z.preprocess(
      emptyToUndefined,
      z.string().refine(isGrpcTarget, GRPC_TARGET_FORMS).default(fallback),
    ),
  /** One of `values`, `fallback` when unset. */
  choice: <const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
    z.preprocess(emptyToUndefined, z.enum(values).default(fallback)),
  optionalString: () => z.preprocess(emptyToUndefined, z.string().optional()),
  boolean: (fallback: boolean) =>
    z.preprocess(
      emptyToUndefined,
      z
        .enum(['true', 'false'], { error: 'must be true or false' })
        .default(fallback ? 'true' : 'false')
        .transform((value) => value === 'true'),
    ),
  /** `true` or `false`; undefined when unset, for settings whose default depends on others. */
  optionalBoolean: () =>
    z.preprocess(
      emptyToUndefined,
      z
        .enum(['true', 'false'], { error: 'must be true or false' })
        .optional()
        .transform((value) => (value === undefined ? undefined : value === 'true')),
    ),
  redisUrl: () =>
    z.preprocess(
      emptyToUndefined,
      z
        .url({ error: 'must be a redis:// or rediss:// URL' })
        .refine((value) => /^rediss?:\/\//.test(value), 'must be a redis:// or rediss:// URL')
        .optional(),
    ),
  /** A comma-separated list of IP addresses and CIDR ranges; unset is an empty list. */
  ipList: () =>
    z.preprocess(
      emptyToUndefined,
      z
        .string()
        .default('')
        .transform((value) =>
          value
            .split(',')
            .map((entry) => entry.trim())
            .filter(Boolean),
        )
        .refine(
          (entries) => entries.every(isIpOrCidr),
          'must be comma-separated IP addresses or CIDR ranges (e.g. 10.0.0.0/8,::1)',
        ),
    ),
  nodeEnv: () =>
    z.preprocess(
      emptyToUndefined,
      z.enum(['development', 'test', 'production']).default('development'),
    ),
  logLevel: () =>
    z.preprocess(
      emptyToUndefined,
      z.enum(['fatal', 'error', 'warn', 'log', 'debug', 'verbose']).default('log'),
    ),
};

const GRPC_TARGET_FORMS =
  'must be a gRPC target: host:port, dns:///host:port, ipv4:address:port[,address:port...], ' +
  'ipv6:[address]:port[,[address]:port...] or unix:/path/to/socket';

const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A DNS name (labels of letters, digits and inner hyphens). */
export function isHostName(value: string): boolean {
  return HOST_NAME.test(value);
}

function isGrpcTarget(target: string): boolean {
  const scheme = /^(dns|ipv4|ipv6|unix):/.exec(target)?.[1];
  const rest = scheme ? target.slice(scheme.length + 1) : target;
  switch (scheme) {
    case undefined:
      return isHostPort(rest);
    case 'dns':
      return isHostPort(rest.replace(/^\/\/\//, ''));
    case 'ipv4':
      return rest.split(',').every((address) => isAddressPort(address, 4));
    case 'ipv6':
      return rest.split(',').every((address) => isAddressPort(address, 6));
    default:
      return /^[^\s,]+$/.test(rest);
  }
}

/** A host name, an IPv4 address or a bracketed IPv6 address, then a port. */
function isHostPort(value: string): boolean {
  const host = value.slice(0, value.lastIndexOf(':'));
  return (
    (isHostName(host) || isAddressPort(value, 4) || isAddressPort(value, 6)) &&
    isPort(value.slice(value.lastIndexOf(':') + 1))
  );
}

function isAddressPort(value: string, version: 4 | 6): boolean {
  const colon = value.lastIndexOf(':');
  const address = value.slice(0, colon);
  const port = value.slice(colon + 1);
  if (colon < 0 || !isPort(port)) return false;
  if (version === 4) return isIP(address) === 4;
  return address.startsWith('[') && address.endsWith(']') && isIP(address.slice(1, -1)) === 6;
}

function isPort(value: string): boolean {
  return /^\d{1,5}$/.test(value) && Number(value) >= 1 && Number(value) <= 65535;
}

function isIpOrCidr(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

function emptyToUndefined(value: unknown): unknown {
  return value === '' ? undefined : value;
}
