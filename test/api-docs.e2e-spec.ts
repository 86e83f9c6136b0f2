import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { chromium } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from '#testing/database.js';
import { freePort } from '#testing/ports.js';
import { DOCS_CONTENT_SECURITY_POLICY } from '../apps/orders/src/openapi/api-docs.controller.js';
import { renderOpenApiDocument } from '../apps/orders/src/openapi/openapi.document.js';
import { expectProblem } from './support/http.js';
import { startTestOrders } from './support/stack.js';

/**
 * The API explorer as a person sees it: Debian's Chromium, headless, opens /api/docs of a real
 * orders app. Skipped, by name, where /usr/bin/chromium is missing (.ci/run installs it when it
 * can); playwright-core never downloads a browser of its own.
 */
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`${CHROMIUM} not installed: the API explorer browser test skips`);

export const SCREENSHOT = resolve('test-artifacts/api-docs.png');

/** orders alone on a fresh database (nothing listens for payments: the docs need none of it). */
async function startOrders(env: NodeJS.ProcessEnv = {}) {
  const [database, httpPort, grpcPort, paymentsPort] = await Promise.all([
    createTestDatabase('orders'),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const app = await startTestOrders({
    httpPort,
    grpcPort,
    databaseUrl: database.url,
    paymentsUrl: `127.0.0.1:${paymentsPort}`,
    env,
  });
  return { app, database, baseUrl: `http://127.0.0.1:${httpPort}` };
}

describe('API docs over HTTP', () => {
  let on: Awaited<ReturnType<typeof startOrders>>;
  let off: Awaited<ReturnType<typeof startOrders>>;

  beforeAll(async () => {
    [on, off] = await Promise.all([startOrders(), startOrders({ API_DOCS_ENABLED: 'false' })]);
  });

  afterAll(async () => {
    for (const started of [on, off]) {
      await started?.app.close();
      await started?.database.drop();
    }
  });

  it('serves the document the code renders (docs/openapi.json), rate-limited like any route', async () => {
    const response = await fetch(`${on.baseUrl}/api/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('ratelimit-policy')).toContain('"default"');
    expect(await response.text()).toBe(renderOpenApiDocument());
  });

  it("gives the explorer page its own CSP and keeps the API's everywhere else", async () => {
    const page = await fetch(`${on.baseUrl}/api/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(DOCS_CONTENT_SECURITY_POLICY);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    for (const path of ['/api/openapi.json', '/api/docs/swagger-ui-bundle.js', '/api/v1/orders']) {
      const response = await fetch(`${on.baseUrl}${path}`);
      expect(response.headers.get('content-security-policy')).toBe(
        "default-src 'none';frame-ancestors 'none'",
      );
    }
  });

  it('answers 404 problems when API_DOCS_ENABLED=false', async () => {
    for (const path of ['/api/openapi.json', '/api/docs', '/api/docs/swagger-ui-bundle.js']) {
      await expectProblem(await fetch(`${off.baseUrl}${path}`), 404, '/problems/not-found');
    }
  });
});

describe('API explorer in a real browser', () => {
  let database: TestDatabase | undefined;
  let app: NestFastifyApplication | undefined;
  let baseUrl = '';

  beforeAll(async () => {
    if (!hasChromium) return;
    ({ app, database, baseUrl } = await startOrders());
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  (hasChromium ? it : it.skip)(
    `renders every operation from local files, without console errors or CSP violations${hasChromium ? '' : ' (chromium not installed: skipped)'}`,
    async () => {
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      });
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 2000 } });
        const errors: string[] = [];
        const elsewhere: string[] = [];
        page.on('console', (message) => {
          if (message.type() === 'error' || message.type() === 'warning') {
            errors.push(`${message.type()}: ${message.text()}`);
          }
        });
        page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
        page.on('request', (request) => {
          const url = request.url();
          if (!url.startsWith(baseUrl) && !url.startsWith('data:')) elsewhere.push(url);
        });

        const response = await page.goto(`${baseUrl}/api/docs`);
        expect(response?.status()).toBe(200);
        for (const summary of [
          'Place an order',
          "List the customer's orders",
          'Read an order',
          'Cancel an order',
          'Refund an order',
          'Push a payment update (internal)',
          'Liveness',
          'Readiness',
        ]) {
          await page.getByText(summary, { exact: true }).first().waitFor();
        }
        await page.getByText('/api/v1/orders/{id}/refunds', { exact: true }).first().waitFor();

        // Open one operation: its request body schema and problem responses render too.
        await page.getByText('Place an order', { exact: true }).first().click();
        await page.getByText('application/problem+json').first().waitFor();

        mkdirSync(resolve('test-artifacts'), { recursive: true });
        await page.screenshot({ path: SCREENSHOT, fullPage: false });
        console.log(`API explorer screenshot: ${SCREENSHOT}`);

        expect(errors).toEqual([]);
        expect(elsewhere).toEqual([]);
      } finally {
        await browser.close();
      }
    },
  );
});
