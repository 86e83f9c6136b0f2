import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '#common/errors.js';
import { repeatedHeaderProblem } from './single-header.js';

/**
 * Service-to-service authentication for internal endpoints: `X-Api-Key`, sent once, must equal
 * the configured key. Without a configured key every request is refused.
 */
export class InternalApiKey {
  private readonly expected?: Buffer;

  constructor(key: string | undefined) {
    if (key) this.expected = digest(key);
  }

  /** The refusal for a request without the key, or undefined when it presents it. */
  problemWith(request: FastifyRequest): DomainError | undefined {
    const repeated = repeatedHeaderProblem(request, 'X-Api-Key');
    if (repeated) return repeated;
    const presented = request.headers['x-api-key'];
    // Comparing digests keeps the comparison constant-time whatever the length presented.
    if (
      this.expected &&
      typeof presented === 'string' &&
      timingSafeEqual(digest(presented), this.expected)
    ) {
      return undefined;
    }
    return new DomainError('unauthenticated', 'A valid X-Api-Key header is required.');
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
