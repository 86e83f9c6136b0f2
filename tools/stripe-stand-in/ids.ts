import { randomInt } from 'node:crypto';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomAlphanumeric(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/** Stripe object ids: a type prefix and 24 random alphanumerics, e.g. `pi_3Pq...`. */
export function objectId(prefix: string): string {
  return `${prefix}_${randomAlphanumeric(24)}`;
}

export function requestId(): string {
  return `req_${randomAlphanumeric(14)}`;
}
