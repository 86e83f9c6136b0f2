import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { configureHttp, httpAdapter, registeredRoutes } from '#common/http/server.js';
import { PERMISSIONS_POLICY } from '#common/http/security-headers.js';
import { enableCors } from '../apps/orders/src/cors.js';
import {
  DOCS_ASSET_CACHE_CONTROL,
  DOCS_ASSETS,
  DOCS_CONTENT_SECURITY_POLICY,
  DOCS_PATH,
} from '../apps/orders/src/openapi/api-docs.controller.js';
import { cart, postOrder } from './support/http.js';
import { Stack, tokenFor } from './support/stack.js';

const INTERNAL_API_KEY = 'internal-key-for-security-header-tests-0123';
const STOREFRONT = 'https://shop.example.com';
const API_CSP = "default-src 'none';frame-ancestors 'none'";

function expectSecurityHeaders(
  response: Response,
  what: string,
  hsts = false,
  csp = API_CSP,
  cache = 'no-store',
): void {
  const headers = Object.fromEntries(response.headers);
  const context = `${what} -> ${response.status}`;
  expect({ context, headers }).toMatchObject({
    context,
    headers: {
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'content-security-policy': csp,
      'permissions-policy': PERMISSIONS_POLICY,
      'cache-control': cache,
    },
  });
  expect({ context, poweredBy: headers['x-powered-by'] }).toEqual({
    context,
    poweredBy: undefined,
  });
  if (hsts) {
    expect(headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
  } else {
    expect({ context, hsts: headers['strict-transport-security'] }).toEqual({
      context,
      hsts: undefined,
    });
  }
}

describe('security headers and CORS (end to end)', () => {
  let stack: Stack;
  let token: string;

  beforeAll(async () => {
    stack = await Stack.start({
      webhooks: true,
      orders: { INTERNAL_API_KEY, CORS_ORIGINS: `${STOREFRONT}, http://localhost:5173` },
    });
    token = await tokenFor('cus_headers');
  });

  afterAll(() => stack?.stop());

  function surfaces(): { name: string; app: NestFastifyApplication; url: string }[] {
    return [
      { name: 'orders', app: stack.orders, url: stack.ordersUrl },
      { name: 'payments', app: stack.payments, url: stack.paymentsUrl },
    ];
  }

  it('knows every route of both services, the CORS preflight included', () => {
    const routes = surfaces().flatMap(({ name, app }) =>
      registeredRoutes(app).map((route) => `${name} ${route.method} ${route.url}`),
    );
    expect(routes).toEqual(
      expect.arrayContaining([
        'orders POST /api/v1/orders',
        'orders GET /api/v1/orders/:id',
        'orders POST /api/v1/orders/:id/refunds',
        'orders POST /api/v1/webhooks/payment-updates',
        'orders GET /health/ready',
        'orders OPTIONS *',
        'payments POST /webhooks/stripe',
        'payments GET /health/live',
      ]),
    );
  });

  it('sends them on every response of every registered route, with and without credentials', async () => {
    let calls = 0;
    for (const { name, app, url } of surfaces()) {
      for (const route of registeredRoutes(app)) {
        const path = route.url.replaceAll(':id', randomUUID()).replace('*', '/any/path');
        for (const authenticated of [true, false]) {
          const headers: Record<string, string> = authenticated
            ? {
                authorization: `Bearer ${token}`,
                'x-api-key': INTERNAL_API_KEY,
                'idempotency-key': randomUUID(),
                'x-idempotency-key': randomUUID(),
              }
            : {};
          const hasBody = route.method === 'POST' || route.method === 'PUT';
          if (hasBody) headers['content-type'] = 'application/json';
          if (route.method === 'OPTIONS') {
            headers.origin = STOREFRONT;
            headers['access-control-request-method'] = 'POST';
          }
          const response = await fetch(`${url}${path}`, {
            method: route.method,
            headers,
            body: hasBody ? '{}' : undefined,
          });
          await response.arrayBuffer();
          // The API explorer's page alone has a policy of its own (see api-docs.controller.ts).
          const csp = route.url === DOCS_PATH ? DOCS_CONTENT_SECURITY_POLICY : API_CSP;
          // Swagger UI's static files alone may be cached (the same for everyone).
          const cache = DOCS_ASSETS.includes(route.url) ? DOCS_ASSET_CACHE_CONTROL : 'no-store';
          expectSecurityHeaders(response, `${name} ${route.method} ${path}`, false, csp, cache);
          calls += 1;
        }
      }
    }
    expect(calls).toBeGreaterThanOrEqual(20);
  });

  const json = { 'content-type': 'application/json' };
  const text = { 'content-type': 'text/plain' };
  // Fresh and well formed, so payments reads the body before the signature fails.
  const signature = {
    'stripe-signature': `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`,
  };
  const big = JSON.stringify({ pad: 'x'.repeat(1_100_000) });
  it.each([
    ['orders', 'an unknown path', 'GET', '/nothing/here', {}, undefined, 404],
    ['orders', 'a malformed URL', 'GET', '/api/v1/orders/%E0%A4%A', {}, undefined, 400],
    ['orders', 'an oversized body', 'POST', '/api/v1/orders', json, big, 413],
    ['orders', 'a wrong content type', 'POST', '/api/v1/orders', text, 'hello', 415],
    ['orders', 'bad JSON', 'POST', '/api/v1/orders', json, '{', 400],
    ['orders', 'a missing token', 'GET', '/api/v1/orders', {}, undefined, 401],
    ['payments', 'an unknown path', 'GET', '/nothing/here', {}, undefined, 404],
    [
      'payments',
      'an oversized body',
      'POST',
      '/webhooks/stripe',
      { ...json, ...signature },
      big,
      413,
    ],
    [
      'payments',
      'a wrong content type',
      'POST',
      '/webhooks/stripe',
      { ...text, ...signature },
      'hello',
      415,
    ],
    ['payments', 'bad JSON', 'POST', '/webhooks/stripe', { ...json, ...signature }, '{', 400],
    ['payments', 'a missing signature', 'POST', '/webhooks/stripe', json, '{}', 400],
  ] as const)(
    'sends them from %s with %s',
    async (service, what, method, path, headers, body, status) => {
      const url = service === 'orders' ? stack.ordersUrl : stack.paymentsUrl;
      const response = await fetch(`${url}${path}`, { method, headers, body });
      await response.arrayBuffer();
      expect(response.status).toBe(status);
      expectSecurityHeaders(response, `${service} ${what}`);
    },
  );

  it('sends no-store on a created order and on its stored replay', async () => {
    const key = randomUUID();
    const first = await postOrder(stack.ordersUrl, token, { key, body: cart });
    expect(first.status).toBe(201);
    expectSecurityHeaders(first, 'created order');
    const replay = await postOrder(stack.ordersUrl, token, { key, body: cart });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expectSecurityHeaders(replay, 'replayed order');
  });

  describe('CORS on orders', () => {
    it('answers a preflight from an allowed origin with methods, headers, exposed headers, max-age', async () => {
      const response = await fetch(`${stack.ordersUrl}/api/v1/orders`, {
        method: 'OPTIONS',
        headers: {
          origin: STOREFRONT,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type, idempotency-key',
        },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(STOREFRONT);
      expect(response.headers.get('access-control-allow-credentials')).toBe('true');
      expect(response.headers.get('access-control-allow-methods')).toBe('GET, POST');
      expect(response.headers.get('access-control-allow-headers')).toBe(
        'Authorization, Content-Type, Idempotency-Key, X-Request-ID',
      );
      expect(response.headers.get('access-control-max-age')).toBe('7200');
      expect(response.headers.get('vary')).toMatch(/origin/i);
    });

    it('exposes the response headers a storefront reads on an actual request', async () => {
      const response = await fetch(`${stack.ordersUrl}/api/v1/orders`, {
        headers: { origin: STOREFRONT, authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(STOREFRONT);
      expect(response.headers.get('access-control-expose-headers')?.split(/,\s*/)).toEqual([
        'Location',
        'Retry-After',
        'Idempotent-Replayed',
        'X-Request-ID',
        'RateLimit',
        'RateLimit-Policy',
        'X-RateLimit-Limit',
        'X-RateLimit-Remaining',
        'X-RateLimit-Reset',
      ]);
    });

    it.each(['https://evil.example.com', 'https://shop.example.com.evil.net', 'null'])(
      'gives no Access-Control-Allow-Origin to %s',
      async (origin) => {
        for (const method of ['OPTIONS', 'GET']) {
          const response = await fetch(`${stack.ordersUrl}/api/v1/orders`, {
            method,
            headers: {
              origin,
              'access-control-request-method': 'POST',
              authorization: `Bearer ${token}`,
            },
          });
          await response.arrayBuffer();
          expect(response.headers.get('access-control-allow-origin')).toBeNull();
        }
      },
    );

    it('is not enabled on payments', async () => {
      const response = await fetch(`${stack.paymentsUrl}/health/live`, {
        headers: { origin: STOREFRONT },
      });
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    });
  });
});

@Controller('probe')
class ProbeController {
  @Get()
  probe() {
    return { ok: true };
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

describe('configureHttp by environment', () => {
  async function start(nodeEnv: string, corsOrigins: string[] = []) {
    const app = await NestFactory.create<NestFastifyApplication>(ProbeModule, httpAdapter(), {
      logger: false,
      bodyParser: false,
    });
    configureHttp(app, {}, { nodeEnv });
    enableCors(app, corsOrigins);
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { app, url: await app.getUrl() };
  }

  it('adds Strict-Transport-Security in production, on successes and on every kind of error', async () => {
    const { app, url } = await start('production');
    try {
      for (const [path, init] of [
        ['/probe', {}],
        ['/missing', {}],
        ['/probe/%E0%A4%A', {}],
        ['/probe', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }],
      ] as const) {
        const response = await fetch(`${url}${path}`, init);
        await response.arrayBuffer();
        expectSecurityHeaders(response, `production ${path}`, true);
      }
    } finally {
      await app.close();
    }
  });

  it('leaves Strict-Transport-Security out in development', async () => {
    const { app, url } = await start('development');
    try {
      const response = await fetch(`${url}/probe`);
      expect(response.status).toBe(200);
      expectSecurityHeaders(response, 'development /probe');
    } finally {
      await app.close();
    }
  });

  it('sends no CORS headers at all without configured origins', async () => {
    const { app, url } = await start('development', []);
    try {
      for (const method of ['OPTIONS', 'GET']) {
        const response = await fetch(`${url}/probe`, {
          method,
          headers: { origin: STOREFRONT, 'access-control-request-method': 'GET' },
        });
        await response.arrayBuffer();
        const cors = [...response.headers.keys()].filter((name) =>
          name.startsWith('access-control'),
        );
        expect(cors).toEqual([]);
      }
    } finally {
      await app.close();
    }
  });
});
