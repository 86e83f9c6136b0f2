import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';

/** Sets the security headers on a response about to be written, then calls `next`. */
export type SecurityHeaders = (
  request: IncomingMessage,
  response: ServerResponse,
  next: () => void,
) => void;

/**
 * Browser features an API response never needs (helmet does not send Permissions-Policy). Only
 * features browsers know are listed: an unknown one is a console warning in every page.
 */
const DENIED_FEATURES = [
  'accelerometer',
  'autoplay',
  'camera',
  'display-capture',
  'encrypted-media',
  'fullscreen',
  'geolocation',
  'gyroscope',
  'magnetometer',
  'microphone',
  'midi',
  'payment',
  'picture-in-picture',
  'publickey-credentials-get',
  'screen-wake-lock',
  'usb',
  'xr-spatial-tracking',
];

export const PERMISSIONS_POLICY = DENIED_FEATURES.map((feature) => `${feature}=()`).join(', ');

const ONE_YEAR_SECONDS = 365 * 24 * 60 * 60;

/**
 * The headers of every response of an API that serves JSON only: nothing may be framed, sniffed,
 * embedded or cached (orders and payments are personal data), no referrer leaks, and, in
 * production (always behind TLS), HSTS. HSTS stays off elsewhere: a browser that saw it on
 * `localhost` would refuse plain HTTP there for a year.
 */
export function securityHeaders(options: { production: boolean }): SecurityHeaders {
  const helmetHeaders = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: options.production
      ? { maxAge: ONE_YEAR_SECONDS, includeSubDomains: true }
      : false,
  });
  return (request, response, next) => {
    helmetHeaders(request, response, () => {
      response.setHeader('permissions-policy', PERMISSIONS_POLICY);
      response.setHeader('cache-control', 'no-store');
      next();
    });
  };
}
