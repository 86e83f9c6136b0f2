import { type CallOptions, type ChannelOptions, Metadata } from '@grpc/grpc-js';
import { type GrpcOptions, Transport } from '@nestjs/microservices';
import type { Observable } from 'rxjs';
import { grpcLoaderOptions, IDEMPOTENCY_KEY_METADATA } from '#contracts/grpc.js';
import { bearer, SERVICE_AUTH_METADATA } from './auth.js';
import { channelCredentials, type ClientTls } from './tls.js';

/** How gRPC connections between instances are spread, kept alive and recycled. */
export interface GrpcChannelSettings {
  lbPolicy: 'round_robin' | 'pick_first';
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  maxConnectionAgeMs: number;
  maxConnectionAgeGraceMs: number;
}

/**
 * A client channel to a peer that may run as several instances. With `round_robin` it connects to
 * every address its target resolves to and sends each call to the next ready one, so a peer that
 * drops its connections (killed, restarting) leaves the rotation at once and a retry lands on
 * another; `pick_first` pins one connection. Keepalive pings find a connection whose peer vanished
 * without closing it (a lost node) in keepaliveTime + keepaliveTimeout rather than TCP's minutes.
 */
export function clientChannelOptions(
  settings: GrpcChannelSettings,
  tls: ClientTls | undefined,
): ChannelOptions {
  return {
    'grpc.service_config': JSON.stringify({
      loadBalancingConfig: [{ [settings.lbPolicy]: {} }],
    }),
    'grpc.keepalive_time_ms': settings.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': settings.keepaliveTimeoutMs,
    // Idle connections too: a call should not be the first to find its peer gone.
    'grpc.keepalive_permit_without_calls': 1,
    // Peers restarting is routine: reconnect within a second or two, not grpc-js's minutes.
    'grpc.initial_reconnect_backoff_ms': 250,
    'grpc.max_reconnect_backoff_ms': 2000,
    // Certificates are checked against the target's host (for an `ipv4:` list, its first address)
    // unless a server name is configured: the one name every instance's certificate carries.
    ...(tls?.serverName && { 'grpc.ssl_target_name_override': tls.serverName }),
  };
}

/**
 * A server among several instances. A connection older than the maximum age is closed (GOAWAY,
 * then the grace for calls in flight), so clients reconnect, resolve their target again and spread
 * over instances added since. Clients' keepalive pings are accepted, idle connections included,
 * at half the keepalive time the fleet is configured with: grpc-js 1.14 does not police pings, but
 * a server that does answers faster pings with GOAWAY too_many_pings.
 */
export function serverChannelOptions(settings: GrpcChannelSettings): ChannelOptions {
  return {
    'grpc.max_connection_age_ms': settings.maxConnectionAgeMs,
    'grpc.max_connection_age_grace_ms': settings.maxConnectionAgeGraceMs,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': Math.floor(settings.keepaliveTimeMs / 2),
  };
}

/** Where a client of a peer connects, and how. */
export interface GrpcPeerSettings {
  url: string;
  tls: ClientTls | undefined;
  channel: GrpcChannelSettings;
}

/** A peer's address, TLS when configured (plaintext otherwise), and the channel policy above. */
export function clientConnection(peer: GrpcPeerSettings) {
  return {
    url: peer.url,
    credentials: channelCredentials(peer.tls),
    channelOptions: clientChannelOptions(peer.channel, peer.tls),
  };
}

/**
 * Nest's options for a `ClientGrpc` of a peer serving `package` (`payments.v1`, declared in
 * `protoPath`), its contract loaded as the servers load it.
 */
export function grpcClientOptions(
  contract: { package: string; protoPath: string },
  peer: GrpcPeerSettings,
): GrpcOptions {
  return {
    transport: Transport.GRPC,
    options: {
      package: contract.package,
      protoPath: contract.protoPath,
      loader: grpcLoaderOptions(),
      ...clientConnection(peer),
    },
  };
}

/**
 * The metadata of a call to a peer: our service token and, on a mutating call, its idempotency key,
 * the same on every attempt, which is what makes retrying it safe.
 */
export function callMetadata(token: string, idempotencyKey?: string): Metadata {
  const metadata = new Metadata();
  metadata.set(SERVICE_AUTH_METADATA, bearer(token));
  if (idempotencyKey !== undefined) metadata.set(IDEMPOTENCY_KEY_METADATA, idempotencyKey);
  return metadata;
}

/** A unary method of a Nest `ClientGrpc` service, bound to it. */
export type UnaryMethod<Req, Res> = (request: Req, metadata?: Metadata) => Observable<Res>;

/**
 * Calls `method` with a deadline `timeoutMs` from now. Nest's client forwards a third argument to
 * grpc-js as the call options, which its generated types do not declare.
 */
export function callWithDeadline<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  metadata: Metadata,
  timeoutMs: number,
): Observable<Res> {
  const call = method as (
    request: Req,
    metadata: Metadata,
    options: CallOptions,
  ) => Observable<Res>;
  return call(request, metadata, { deadline: Date.now() + timeoutMs });
}
