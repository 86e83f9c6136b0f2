import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { chromium } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from '#testing/database.js';
import { freePort } from '#testing/ports.js';
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

describe('API explorer in a real browser', () => {
  let database: TestDatabase | undefined;
  let app: NestFastifyApplication | undefined;
  let baseUrl = '';

  beforeAll(async () => {
    if (!hasChromium) return;
    const [db, httpPort, grpcPort, paymentsPort] = await Promise.all([
      createTestDatabase('orders'),
      freePort(),
      freePort(),
      freePort(),
    ]);
    database = db;
    // Nothing listens for payments: the explorer needs none of it.
    app = await startTestOrders({
      httpPort,
      grpcPort,
      databaseUrl: db.url,
      paymentsUrl: `127.0.0.1:${paymentsPort}`,
    });
    baseUrl = `http://127.0.0.1:${httpPort}`;
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
