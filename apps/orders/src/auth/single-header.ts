import type { FastifyRequest } from 'fastify';
import { DomainError } from '#common/errors.js';

/**
 * Whether the request carries the header more than once. `request.headers` cannot tell: Node
 * keeps only the first `Authorization` and joins repeats of other unknown headers with ", ".
 */
export function isRepeated(request: FastifyRequest, name: string): boolean {
  const lowerCase = name.toLowerCase();
  const { rawHeaders } = request.raw;
  let seen = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === lowerCase && ++seen > 1) return true;
  }
  return false;
}

/**
 * A credential header must come once: a proxy or WAF that reads another copy than we do would
 * authorize someone else. A repeat is a 400 problem, before the credential is looked at.
 */
export function requireSingleHeader(request: FastifyRequest, header: string): void {
  const problem = repeatedHeaderProblem(request, header);
  if (problem) throw problem;
}

/** The 400 for a credential header sent more than once, or undefined. */
export function repeatedHeaderProblem(
  request: FastifyRequest,
  header: string,
): DomainError | undefined {
  if (!isRepeated(request, header)) return undefined;
  return new DomainError('bad_request', `The ${header} header must be sent only once.`, [
    { field: header, message: 'must be sent only once' },
  ]);
}
