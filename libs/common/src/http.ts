import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { ProblemFilter } from './problem.filter.js';

/** Request bodies larger than this are refused with 413 unless an endpoint asks for more. */
export const DEFAULT_BODY_LIMIT = 64 * 1024;

export function httpAdapter(): FastifyAdapter {
  return new FastifyAdapter({ bodyLimit: DEFAULT_BODY_LIMIT });
}

/**
 * What every HTTP surface of the project shares: problem+json errors, and JSON as the only body
 * type (Nest's own form and text parsers are left out, so anything else is a 415 from Fastify).
 * Create the app with `bodyParser: false` for the latter.
 */
export function configureHttp(app: NestFastifyApplication): void {
  app.useGlobalFilters(new ProblemFilter());
  app.getHttpAdapter().getInstance().removeContentTypeParser('text/plain');
  app.enableShutdownHooks();
}
