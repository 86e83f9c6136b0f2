import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The rate-limit policies of the route (see RateLimitPolicies). */
    rateLimitPolicies?: string[];
    /** The route takes its body as raw bytes (see RawBody). */
    rawBody?: boolean;
  }
}

/**
 * Adds to the Fastify route `config` of a controller method, where Fastify hooks can read it
 * (`request.routeOptions.config`) before Nest's guards and pipes run. Nest's @RouteConfig would
 * replace what another decorator put there.
 */
export function mergeRouteConfig(handler: object, config: Record<string, unknown>): void {
  Reflect.defineMetadata(
    FASTIFY_ROUTE_CONFIG_METADATA,
    { ...routeConfigOf(handler), ...config },
    handler,
  );
}

export function routeConfigOf(handler: object): Record<string, unknown> {
  return (Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler) ?? {}) as Record<
    string,
    unknown
  >;
}
