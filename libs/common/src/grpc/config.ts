import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { env, isHostName } from '../config/config.js';
import { DEV_GRPC_TOKENS } from '../config/defaults.js';
import type { ServiceCredential } from './auth.js';
import type { GrpcChannelSettings } from './channel.js';
import type { ClientTls, ServerTls } from './tls.js';

const MIN_TOKEN_LENGTH = 32;
const CALLER = /^[a-z][a-z0-9-]{0,62}$/;
// Visible ASCII (a valid metadata value) without the list separator.
const TOKEN = /^[\x21-\x2b\x2d-\x7e]+$/;

const validToken = (token: string) => token.length >= MIN_TOKEN_LENGTH && TOKEN.test(token);

const TOKEN_FORMAT = `must be at least ${MIN_TOKEN_LENGTH} visible ASCII characters, without commas`;
const INBOUND_FORMAT =
  'must be a comma-separated list of caller=token (caller: lowercase letters, digits and -; ' +
  `token: ${TOKEN_FORMAT.replace('must be ', '')})`;

type PemKind = 'certificate' | 'private key';

/**
 * A PEM file named by its path, read and parsed at boot so a wrong path or a broken file stops the
 * process with the variable's name rather than failing the first call. Messages name the path,
 * never the content.
 */
function pemFile(kind: PemKind) {
  return env.optionalString().transform((path, ctx) => {
    if (path === undefined) return undefined;
    let pem: Buffer;
    try {
      pem = readFileSync(path);
    } catch {
      ctx.addIssue({ code: 'custom', message: `cannot read ${path}` });
      return z.NEVER;
    }
    try {
      if (kind === 'certificate') new X509Certificate(pem);
      else createPrivateKey(pem);
    } catch {
      ctx.addIssue({ code: 'custom', message: `${path} is not a PEM ${kind}` });
      return z.NEVER;
    }
    return pem;
  });
}

type PemFile = ReturnType<typeof pemFile>;

function keyMatches(cert: Buffer, key: Buffer): boolean {
  try {
    return new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch {
    return false;
  }
}

type Ctx = z.core.$RefinementCtx;

const issue = (ctx: Ctx, path: string, message: string) =>
  ctx.addIssue({ code: 'custom', path: [path], message });

/** Shapes of the gRPC trust variables. */
export const grpcEnv = {
  /** What a client presents: one service token. */
  token: () =>
    env.optionalString().refine((token) => token === undefined || validToken(token), TOKEN_FORMAT),

  /**
   * What a server accepts: `caller=token` pairs. A caller may appear twice (old and new token
   * during a rotation); a token may not, or the caller's identity would be ambiguous.
   */
  inboundTokens: () =>
    env.optionalString().transform((raw, ctx): ServiceCredential[] | undefined => {
      if (raw === undefined) return undefined;
      const credentials: ServiceCredential[] = [];
      for (const entry of raw.split(',').map((part) => part.trim())) {
        const at = entry.indexOf('=');
        const caller = entry.slice(0, at);
        const token = entry.slice(at + 1);
        if (at < 1 || !CALLER.test(caller) || !validToken(token)) {
          ctx.addIssue({ code: 'custom', message: INBOUND_FORMAT });
          return z.NEVER;
        }
        credentials.push({ caller, token });
      }
      if (new Set(credentials.map((c) => c.token)).size !== credentials.length) {
        ctx.addIssue({ code: 'custom', message: 'gives one token to two entries' });
        return z.NEVER;
      }
      return credentials;
    }),

  /** `<P>_GRPC_TLS_CERT`, `_KEY` and (for mutual TLS) `_CLIENT_CA` of the server P runs. */
  serverTls: <P extends string>(prefix: P) =>
    ({
      [`${prefix}_GRPC_TLS_CERT`]: pemFile('certificate'),
      [`${prefix}_GRPC_TLS_KEY`]: pemFile('private key'),
      [`${prefix}_GRPC_TLS_CLIENT_CA`]: pemFile('certificate'),
    }) as Record<ServerTlsVar<P>, PemFile>,

  /**
   * `<P>_GRPC_TLS_CA` and (for mutual TLS) `_CLIENT_CERT`, `_CLIENT_KEY` to call server P, and
   * `_SERVER_NAME`, the name its certificates are checked against when the target does not say it.
   */
  clientTls: <P extends string>(prefix: P) =>
    ({
      [`${prefix}_GRPC_TLS_CA`]: pemFile('certificate'),
      [`${prefix}_GRPC_TLS_CLIENT_CERT`]: pemFile('certificate'),
      [`${prefix}_GRPC_TLS_CLIENT_KEY`]: pemFile('private key'),
      [`${prefix}_GRPC_TLS_SERVER_NAME`]: env
        .optionalString()
        .refine(
          (name) => name === undefined || isHostName(name) || isIP(name) !== 0,
          "must be a DNS name or an IP address (the name in the servers' certificates)",
        ),
    }) as Record<ClientTlsVar<P>, PemFile> & Record<ServerNameVar<P>, ServerNameShape>,
};

/**
 * What every gRPC channel and server of a service shares: the client's load-balancing policy and
 * keepalive, the server's maximum connection age. Both services read the same names.
 */
export const grpcChannelVariables = {
  GRPC_LB_POLICY: env.choice(['round_robin', 'pick_first'], 'round_robin'),
  GRPC_KEEPALIVE_TIME_MS: env
    .positiveInt(30_000)
    .pipe(z.number().min(1000, 'must be at least 1000 (pinging more often is abuse)')),
  GRPC_KEEPALIVE_TIMEOUT_MS: env.positiveInt(10_000),
  GRPC_MAX_CONNECTION_AGE_MS: env
    .positiveInt(5 * 60_000)
    .pipe(z.number().min(1000, 'must be at least 1000')),
  GRPC_MAX_CONNECTION_AGE_GRACE_MS: env.positiveInt(30_000),
};

export function grpcChannelSettings(value: {
  GRPC_LB_POLICY: GrpcChannelSettings['lbPolicy'];
  GRPC_KEEPALIVE_TIME_MS: number;
  GRPC_KEEPALIVE_TIMEOUT_MS: number;
  GRPC_MAX_CONNECTION_AGE_MS: number;
  GRPC_MAX_CONNECTION_AGE_GRACE_MS: number;
}): GrpcChannelSettings {
  return {
    lbPolicy: value.GRPC_LB_POLICY,
    keepaliveTimeMs: value.GRPC_KEEPALIVE_TIME_MS,
    keepaliveTimeoutMs: value.GRPC_KEEPALIVE_TIMEOUT_MS,
    maxConnectionAgeMs: value.GRPC_MAX_CONNECTION_AGE_MS,
    maxConnectionAgeGraceMs: value.GRPC_MAX_CONNECTION_AGE_GRACE_MS,
  };
}

type ServerTlsVar<P extends string> = `${P}_GRPC_TLS_${'CERT' | 'KEY' | 'CLIENT_CA'}`;
type ClientTlsVar<P extends string> = `${P}_GRPC_TLS_${'CA' | 'CLIENT_CERT' | 'CLIENT_KEY'}`;
type ServerNameVar<P extends string> = `${P}_GRPC_TLS_SERVER_NAME`;
type ServerNameShape = ReturnType<typeof env.optionalString>;
type ClientTlsValues<P extends string> = Record<ClientTlsVar<P>, Buffer | undefined> &
  Partial<Record<ServerNameVar<P>, string>>;

/** Certificate and key come together and belong together; a client CA needs both. */
export function refineServerTls<P extends string>(
  prefix: P,
  value: Record<ServerTlsVar<P>, Buffer | undefined>,
  ctx: Ctx,
): void {
  const [certVar, keyVar, caVar] = [
    `${prefix}_GRPC_TLS_CERT`,
    `${prefix}_GRPC_TLS_KEY`,
    `${prefix}_GRPC_TLS_CLIENT_CA`,
  ] as const;
  const cert = value[certVar as ServerTlsVar<P>];
  const key = value[keyVar as ServerTlsVar<P>];
  if (!cert !== !key) {
    issue(ctx, cert ? keyVar : certVar, `is required with ${cert ? certVar : keyVar}`);
  } else if (cert && key && !keyMatches(cert, key)) {
    issue(ctx, keyVar, `is not the private key of ${certVar}`);
  }
  if (value[caVar as ServerTlsVar<P>] && !cert) {
    issue(ctx, caVar, `requires ${certVar} and ${keyVar} (mutual TLS needs TLS)`);
  }
}

/**
 * A client certificate comes with its key, and only over TLS (which needs the server's CA); so does a
 * server name to check the certificates against.
 */
export function refineClientTls<P extends string>(
  prefix: P,
  values: ClientTlsValues<P>,
  ctx: Ctx,
): void {
  const value = values as Record<ClientTlsVar<P>, Buffer | undefined>;
  const [caVar, certVar, keyVar] = [
    `${prefix}_GRPC_TLS_CA`,
    `${prefix}_GRPC_TLS_CLIENT_CERT`,
    `${prefix}_GRPC_TLS_CLIENT_KEY`,
  ] as const;
  const cert = value[certVar as ClientTlsVar<P>];
  const key = value[keyVar as ClientTlsVar<P>];
  if (!cert !== !key) {
    issue(ctx, cert ? keyVar : certVar, `is required with ${cert ? certVar : keyVar}`);
  } else if (cert && key && !keyMatches(cert, key)) {
    issue(ctx, keyVar, `is not the private key of ${certVar}`);
  }
  if (cert && !value[caVar as ClientTlsVar<P>]) {
    issue(ctx, caVar, `is required with ${certVar} (a client certificate is only sent over TLS)`);
  }
  const nameVar: ServerNameVar<P> = `${prefix}_GRPC_TLS_SERVER_NAME`;
  if (values[nameVar] !== undefined && !value[caVar as ClientTlsVar<P>]) {
    issue(ctx, nameVar, `requires ${caVar} (a server name is only checked over TLS)`);
  }
}

export function serverTls<P extends string>(
  prefix: P,
  value: Record<ServerTlsVar<P>, Buffer | undefined>,
): ServerTls | undefined {
  const cert = value[`${prefix}_GRPC_TLS_CERT` as ServerTlsVar<P>];
  const key = value[`${prefix}_GRPC_TLS_KEY` as ServerTlsVar<P>];
  const clientCa = value[`${prefix}_GRPC_TLS_CLIENT_CA` as ServerTlsVar<P>];
  return cert && key ? { cert, key, ...(clientCa && { clientCa }) } : undefined;
}

export function clientTls<P extends string>(
  prefix: P,
  values: ClientTlsValues<P>,
): ClientTls | undefined {
  const value = values as Record<ClientTlsVar<P>, Buffer | undefined>;
  const ca = value[`${prefix}_GRPC_TLS_CA` as ClientTlsVar<P>];
  const cert = value[`${prefix}_GRPC_TLS_CLIENT_CERT` as ClientTlsVar<P>];
  const key = value[`${prefix}_GRPC_TLS_CLIENT_KEY` as ClientTlsVar<P>];
  const names = values as Partial<Record<ServerNameVar<P>, string>>;
  const serverName = names[`${prefix}_GRPC_TLS_SERVER_NAME`];
  return ca
    ? { ca, ...(cert && key && { cert, key }), ...(serverName && { serverName }) }
    : undefined;
}

/**
 * Production needs its own service tokens: unset ones fall back to the public development tokens,
 * which production refuses, as it refuses them written out.
 */
export function refineProductionGrpcTokens(
  nodeEnv: string,
  tokens: Record<string, readonly string[] | undefined>,
  ctx: Ctx,
): void {
  if (nodeEnv !== 'production') return;
  const development = new Set<string>(Object.values(DEV_GRPC_TOKENS));
  for (const [name, values] of Object.entries(tokens)) {
    if (!values?.length) {
      issue(ctx, name, 'is required in production (the development token is public)');
    } else if (values.some((token) => development.has(token))) {
      issue(ctx, name, 'must not use a development token in production');
    }
  }
}
