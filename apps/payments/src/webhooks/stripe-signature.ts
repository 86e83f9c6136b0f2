import type { FastifyRequest } from 'fastify';
import { DomainError } from '#common/errors.js';

/** Stripe's scheme: `t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=...][,v0=...]`. */
const TIMESTAMP = /^t=(\d{1,12})$/;
const V1 = /^v1=[0-9a-f]{64}$/;

/**
 * What the `Stripe-Signature` header alone refuses, before the body is read: absent, sent twice,
 * not Stripe's scheme, or a timestamp outside the tolerance either way (Stripe's SDK checks only
 * the past: a timestamp far ahead would keep a captured delivery replayable that long).
 */
export function signatureHeaderProblem(
  request: FastifyRequest,
  nowSeconds: number,
  toleranceSeconds: number,
): DomainError | undefined {
  const values = request.raw.headersDistinct['stripe-signature'];
  if (!values) return refused('A signed Stripe event (Stripe-Signature) is required.');
  if (values.length > 1) return refused('Stripe-Signature must be sent once.');
  const items = values[0].split(',').map((item) => item.trim());
  const timestamps = items.filter((item) => item.startsWith('t='));
  const seconds = timestamps.length === 1 ? TIMESTAMP.exec(timestamps[0])?.[1] : undefined;
  if (!seconds || !items.some((item) => V1.test(item))) {
    return refused('Stripe-Signature is not a Stripe signature (t=..., v1=...).');
  }
  if (Math.abs(nowSeconds - Number(seconds)) > toleranceSeconds) {
    return refused('The Stripe signature timestamp is outside the tolerance.');
  }
  return undefined;
}

function refused(message: string): DomainError {
  return new DomainError('bad_request', message);
}
