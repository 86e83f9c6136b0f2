import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Options } from '@grpc/proto-loader';
import type { Timestamp } from './generated/google/protobuf/timestamp.js';

/**
 * The proto/ folder at the repository root. Found by walking up from this module, so the same code
 * works from the TypeScript sources (tests) and from dist/ (production), and PROTO_DIR overrides it
 * for images that place the contracts elsewhere.
 */
export function protoDir(): string {
  if (process.env.PROTO_DIR) return process.env.PROTO_DIR;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'proto', 'buf.yaml'))) return join(dir, 'proto');
    const parent = dirname(dir);
    if (parent === dir) throw new Error('proto/ not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/**
 * proto-loader options matching the generated types: int64 as decimal strings (money never passes
 * through a float), enums by name, unset fields present with their defaults.
 */
export function grpcLoaderOptions() {
  return {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [protoDir()],
  } satisfies Options;
}

export const PAYMENTS_PACKAGE = 'payments.v1';
export const ORDERS_PACKAGE = 'orders.v1';

export function paymentsProtoPath(): string {
  return join(protoDir(), 'payments', 'v1', 'payments.proto');
}

export function ordersProtoPath(): string {
  return join(protoDir(), 'orders', 'v1', 'orders.proto');
}

/** Metadata key carrying the idempotency key of a mutating call. */
export const IDEMPOTENCY_KEY_METADATA = 'idempotency-key';

export function toTimestamp(date: Date): Timestamp {
  const millis = date.getTime();
  const seconds = Math.floor(millis / 1000);
  return { seconds: String(seconds), nanos: (millis - seconds * 1000) * 1_000_000 };
}

export function fromTimestamp(timestamp: Timestamp | undefined): Date | undefined {
  if (!timestamp) return undefined;
  return new Date(Number(timestamp.seconds) * 1000 + Math.floor(timestamp.nanos / 1_000_000));
}
