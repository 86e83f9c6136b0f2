import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { READINESS_REUSE_MS } from '#common/runtime/health.js';
import { PaymentsHealthIndicator } from '../apps/orders/src/health/payments.health.js';
import { Stack } from './support/stack.js';
import { waitFor } from './support/wait.js';

/**
 * A fixed wait, for READINESS_REUSE_MS to pass: probing until the window has passed would itself
 * be a probe, and a check the test counts.
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Counts the statements an application sends its database whose SQL matches `pattern`. */
function countQueries(app: NestFastifyApplication, pattern: RegExp): () => number {
  const dataSource = app.get<DataSource>(getDataSourceToken());
  const query = jest.spyOn(dataSource, 'query');
  return () => query.mock.calls.filter(([sql]) => pattern.test(sql)).length;
}

async function readyStatuses(url: string, concurrent: number): Promise<number[]> {
  const responses = await Promise.all(
    Array.from({ length: concurrent }, () => fetch(`${url}/health/ready`)),
  );
  return Promise.all(
    responses.map(async (response) => (await response.arrayBuffer(), response.status)),
  );
}

/** Polls readiness until it answers `status`; how long that took. */
async function untilReady(url: string, status: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await waitFor(
    `readiness to answer ${status}`,
    async () => {
      const response = await fetch(`${url}/health/ready`);
      await response.arrayBuffer();
      return response.status === status || undefined;
    },
    { timeoutMs },
  );
  return Date.now() - started;
}

/**
 * Readiness is anonymous, so however often it is asked, it costs at most one check of the
 * dependencies per READINESS_REUSE_MS and instance: counted at the real database connection.
 */
describe('readiness (end to end)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start();
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  afterAll(async () => {
    await stack.stop();
  });

  // The outbox relay reads the backlog too, so the ping stands for the check's statements.
  it('payments: concurrent and repeated probes within the window cost one database check', async () => {
    const pings = countQueries(stack.payments, /^SELECT 1$/);
    await sleep(READINESS_REUSE_MS); // no outcome from an earlier probe left to reuse

    expect(await readyStatuses(stack.paymentsUrl, 50)).toEqual(Array(50).fill(200));
    for (let i = 0; i < 5; i++) expect(await readyStatuses(stack.paymentsUrl, 1)).toEqual([200]);
    expect(pings()).toBe(1);

    await sleep(READINESS_REUSE_MS);
    const response = await fetch(`${stack.paymentsUrl}/health/ready`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { details: Record<string, unknown> };
    expect(body).toMatchObject({
      status: 'ok',
      details: { database: { status: 'up' }, outbox: { status: 'up', pending: 0 } },
    });
    // States and counts only: no timing leaves the anonymous probe (terminus adds the ping's).
    expect(body.details.database).toEqual({ status: 'up' });
    expect(pings()).toBe(2);
  });

  it('orders: concurrent and repeated probes within the window cost one database check and one call to payments', async () => {
    const pings = countQueries(stack.orders, /^SELECT 1$/);
    const probes = jest.spyOn(stack.orders.get(PaymentsHealthIndicator), 'check');
    await sleep(READINESS_REUSE_MS);

    expect(await readyStatuses(stack.ordersUrl, 50)).toEqual(Array(50).fill(200));
    for (let i = 0; i < 5; i++) expect(await readyStatuses(stack.ordersUrl, 1)).toEqual([200]);
    expect([pings(), probes.mock.calls.length]).toEqual([1, 1]);

    await sleep(READINESS_REUSE_MS);
    const response = await fetch(`${stack.ordersUrl}/health/ready`);
    expect(response.status).toBe(200);
    const { details } = (await response.json()) as { details: Record<string, unknown> };
    expect(details.database).toEqual({ status: 'up' });
    expect(details.payments).toEqual({ status: 'up', reachable: true, circuit: 'closed' });
    expect([pings(), probes.mock.calls.length]).toEqual([2, 2]);
  });

  it('fails within about the window when the database goes away, and recovers on its own', async () => {
    const admin = new pg.Client({ connectionString: process.env.TEST_PG_ADMIN_URL });
    await admin.connect();
    const database = stack.paymentsDb.name;
    try {
      expect(await readyStatuses(stack.paymentsUrl, 1)).toEqual([200]);
      await admin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1',
        [database],
      );
      // The window, plus the ping's own 1 s timeout, plus slack for a loaded machine.
      expect(await untilReady(stack.paymentsUrl, 503, 10_000)).toBeLessThan(
        READINESS_REUSE_MS + 3_000,
      );
      const problem = await fetch(`${stack.paymentsUrl}/health/ready`);
      expect(problem.status).toBe(503);
      expect(problem.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await problem.json()).toMatchObject({ detail: 'Not ready: database unhealthy.' });
    } finally {
      await admin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    expect(await untilReady(stack.paymentsUrl, 200, 10_000)).toBeLessThan(
      READINESS_REUSE_MS + 3_000,
    );
  });
});
