import { type ChannelCredentials, credentials, ServerCredentials } from '@grpc/grpc-js';

/** A gRPC server's TLS material (PEM). With `clientCa`, clients must present a certificate it signed. */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  clientCa?: Buffer;
}

/**
 * A gRPC client's TLS material (PEM): the CA of the server, and its own certificate for mTLS.
 * `serverName` is checked in the servers' certificates instead of the target's host (see
 * channel.ts).
 */
export interface ClientTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
  serverName?: string;
}

/** TLS (mutual when a client CA is set) or, without TLS material, plaintext. */
export function serverCredentials(tls: ServerTls | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(
    tls.clientCa ?? null,
    [{ cert_chain: tls.cert, private_key: tls.key }],
    tls.clientCa !== undefined,
  );
}

export function channelCredentials(tls: ClientTls | undefined): ChannelCredentials {
  if (!tls) return credentials.createInsecure();
  return credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null);
}

/**
 * Plaintext gRPC in production is allowed, since a service mesh or a private network may carry the
 * TLS, but it is said out loud at boot, once per link without TLS material.
 */
export function warnOfPlaintextGrpc(
  logger: { warn(message: string): void },
  links: Record<string, ServerTls | ClientTls | undefined>,
): void {
  for (const [link, tls] of Object.entries(links)) {
    if (!tls) logger.warn(`${link}: plaintext gRPC (no TLS certificates configured)`);
  }
}
