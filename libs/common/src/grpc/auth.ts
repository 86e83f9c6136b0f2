import { createHash, timingSafeEqual } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Metadata, ServerInterceptingCall, type ServerInterceptor, status } from '@grpc/grpc-js';
import { RefusalLog } from '../runtime/refusal-log.js';

/** Metadata entry carrying a calling service's credential: `Bearer <token>`. */
export const SERVICE_AUTH_METADATA = 'authorization';

/**
 * Metadata entry naming the authenticated caller, set by the interceptor for the handlers (and
 * their spans). Whatever a client sends under this name is overwritten.
 */
export const CALLER_METADATA = 'x-authenticated-caller';

/** Services any client may call without a credential: orchestrators probe health anonymously. */
export const OPEN_GRPC_SERVICES = ['grpc.health.v1.Health'];

/** One calling service and the token it presents. */
export interface ServiceCredential {
  caller: string;
  token: string;
}

/** The metadata value a client sends with `token`. */
export function bearer(token: string): string {
  return `Bearer ${token}`;
}

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

/**
 * The tokens of the services allowed to call. Only SHA-256 digests are kept and compared, with
 * `timingSafeEqual` against every known one: neither a token's length nor which entry matched
 * shows in the timing.
 */
export class ServiceTokens {
  private readonly known: { caller: string; digest: Buffer }[];

  constructor(credentials: readonly ServiceCredential[]) {
    this.known = credentials.map(({ caller, token }) => ({ caller, digest: digest(token) }));
  }

  /** The caller this token belongs to, or undefined. */
  identify(token: string): string | undefined {
    const presented = digest(token);
    let caller: string | undefined;
    for (const known of this.known) {
      if (timingSafeEqual(presented, known.digest)) caller ??= known.caller;
    }
    return caller;
  }
}

/** The token of a single `authorization: Bearer <token>` entry, or undefined. */
function presentedToken(metadata: Metadata): string | undefined {
  const values = metadata.get(SERVICE_AUTH_METADATA);
  if (values.length !== 1 || typeof values[0] !== 'string') return undefined;
  return /^Bearer ([^\s]+)$/i.exec(values[0])?.[1];
}

/** Where refusals are logged: the first per peer address at once, the rest summed per window. */
export function serviceAuthRefusals(): RefusalLog {
  return new RefusalLog(new Logger('ServiceAuth'));
}

/**
 * A grpc-js server interceptor: every call of every service on the server (except the open ones)
 * must carry a known service token, or it ends with UNAUTHENTICATED before any handler runs.
 * Sitting on the server rather than on controllers, it cannot miss a method added later.
 * Handlers see the caller's name under CALLER_METADATA and never the token. Refusals go to
 * `refusals`, which bounds the lines a flood of bad calls can write (flush it on shutdown).
 */
export function serviceAuthInterceptor(
  tokens: ServiceTokens,
  refusals: RefusalLog = serviceAuthRefusals(),
  openServices: readonly string[] = OPEN_GRPC_SERVICES,
): ServerInterceptor {
  const open = openServices.map((service) => `/${service}/`);
  return (method, call) => {
    if (open.some((prefix) => method.path.startsWith(prefix))) {
      return new ServerInterceptingCall(call);
    }
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, proceed) => {
            const token = presentedToken(metadata);
            const caller = token === undefined ? undefined : tokens.identify(token);
            if (caller === undefined) {
              const reason = `${token === undefined ? 'no' : 'unknown'} service credential`;
              refusals.refused(
                call.getConnectionInfo().remoteAddress ?? call.getPeer(),
                reason,
                `refused ${method.path} from ${call.getPeer()}: ${reason}`,
              );
              call.sendStatus({
                code: status.UNAUTHENTICATED,
                details: 'missing or invalid service credential',
                metadata: new Metadata(),
              });
              return;
            }
            metadata.remove(SERVICE_AUTH_METADATA);
            metadata.set(CALLER_METADATA, caller);
            proceed(metadata);
          },
        }),
    });
  };
}
