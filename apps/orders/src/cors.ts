import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { z } from 'zod';

/**
 * CORS_ORIGINS: the storefront origins allowed to call the API from a browser, as a comma list of
 * exact origins (`https://shop.example.com`). No wildcard: the API accepts credentials, and a
 * pattern that matches more than meant hands a customer's token to a foreign page.
 */
export function corsOriginsVariable() {
  return z
    .string()
    .optional()
    .transform((value) =>
      (value ?? '')
        .split(',')
        .map((origin) => origin.trim())
        .filter((origin) => origin !== ''),
    )
    .pipe(
      z.array(
        z.string().refine(isOrigin, {
          error: (issue) =>
            `must be a comma list of origins like https://shop.example.com (scheme, host and port only); ${JSON.stringify(issue.input)} is not one`,
        }),
      ),
    );
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (
      (url.protocol === 'https:' || url.protocol === 'http:') &&
      url.origin === value &&
      !url.hostname.includes('*')
    );
  } catch {
    return false;
  }
}

/**
 * Lets the configured storefront origins call the API from a browser. Without origins nothing is
 * enabled: no response carries CORS headers, so browsers keep the same-origin policy.
 */
export function enableCors(app: NestFastifyApplication, origins: readonly string[]): void {
  if (origins.length === 0) return;
  app.enableCors({
    origin: [...origins],
    credentials: true,
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-ID'],
    exposedHeaders: [
      'Location',
      'Retry-After',
      'Idempotent-Replayed',
      'X-Request-ID',
      'RateLimit',
      'RateLimit-Policy',
      'X-RateLimit-Limit',
      'X-RateLimit-Remaining',
      'X-RateLimit-Reset',
    ],
    // Browsers cap this (Chromium at 2 hours); it spares a preflight per request.
    maxAge: 7200,
    // The preflight is answered by @fastify/cors's OPTIONS route rather than in its request hook,
    // after the hook that adds the security headers, so preflights carry them too (and a
    // malformed preflight is not a text/plain 400).
    preflightContinue: true,
    strictPreflight: false,
  });
}
