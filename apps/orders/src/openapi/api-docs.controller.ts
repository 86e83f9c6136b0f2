import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Controller, Get, Header, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { renderOpenApiDocument } from './openapi.document.js';

export const OPENAPI_PATH = '/api/openapi.json';
export const DOCS_PATH = '/api/docs';

/**
 * The explorer page's own policy, instead of the API's `default-src 'none'`: Swagger UI's script
 * and styles from this origin only (no inline script, nothing from elsewhere), its SVG icons as
 * data: URIs, and requests ("Try it out") to this origin. Still not frameable.
 */
export const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Swagger UI's own files are the same for every caller and change only with the package: a day
 * in any cache, so the 1.7 MB bundle is not fetched again on every visit. Everything else,
 * the document and the page included, stays `no-store`.
 */
export const DOCS_ASSET_CACHE_CONTROL = 'public, max-age=86400';

export const DOCS_ASSETS = [`${DOCS_PATH}/swagger-ui.css`, `${DOCS_PATH}/swagger-ui-bundle.js`];

const assets = new Map<string, Buffer>();

/** Swagger UI's files, shipped in the swagger-ui-dist package: nothing is fetched from a CDN. */
function swaggerUi(file: 'swagger-ui.css' | 'swagger-ui-bundle.js'): Buffer {
  let content = assets.get(file);
  if (!content) {
    content = readFileSync(createRequire(import.meta.url).resolve(`swagger-ui-dist/${file}`));
    assets.set(file, content);
  }
  return content;
}

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>orders REST API</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${DOCS_PATH}/swagger-ui-bundle.js"></script>
    <script src="${DOCS_PATH}/init.js"></script>
  </body>
</html>
`;

// A file rather than an inline script, so the page's policy needs no 'unsafe-inline'. No
// validatorUrl: Swagger UI would otherwise send the document to validator.swagger.io.
const INIT = `window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(OPENAPI_PATH)},
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`;

/**
 * GET /api/openapi.json (the document, rendered once from the zod schemas) and GET /api/docs
 * (Swagger UI over it). Counted against the default rate limit like every other route.
 */
@Controller()
export class ApiDocsController {
  private readonly document = renderOpenApiDocument();

  @Get(OPENAPI_PATH.slice(1))
  @Header('content-type', 'application/json; charset=utf-8')
  openApi(): string {
    return this.document;
  }

  @Get(DOCS_PATH.slice(1))
  page(@Res({ passthrough: true }) reply: FastifyReply): string {
    void reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', DOCS_CONTENT_SECURITY_POLICY);
    return PAGE;
  }

  @Get(`${DOCS_PATH.slice(1)}/init.js`)
  @Header('content-type', 'text/javascript; charset=utf-8')
  init(): string {
    return INIT;
  }

  @Get(`${DOCS_PATH.slice(1)}/swagger-ui.css`)
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', DOCS_ASSET_CACHE_CONTROL)
  css(): Buffer {
    return swaggerUi('swagger-ui.css');
  }

  @Get(`${DOCS_PATH.slice(1)}/swagger-ui-bundle.js`)
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', DOCS_ASSET_CACHE_CONTROL)
  bundle(): Buffer {
    return swaggerUi('swagger-ui-bundle.js');
  }
}
