import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { freePort, freePortRange } from '#testing/ports.js';
import { runChaos } from '../tools/chaos/run.js';

/**
 * A short run of `npm run chaos`: 2 orders + 2 payments processes on their own embedded
 * PostgreSQL, a storefront workload retrying with its keys, instances killed with SIGKILL and
 * restarted every few seconds, PostgreSQL restarted once; then every invariant must hold.
 */
describe('chaos (a fleet through kills and a database restart)', () => {
  it('keeps every invariant and answers no 500', async () => {
    let tampered: string[] = [];
    const report = await runChaos({
      durationMs: 25_000,
      concurrency: 4,
      killEveryMs: 4_000,
      ports: {
        ordersHttp: await freePortRange(2),
        ordersGrpc: await freePortRange(2),
        paymentsHttp: await freePortRange(2),
        paymentsGrpc: await freePortRange(2),
        stripeStandIn: await freePort(),
      },
      postgresPort: await freePort(),
      restartPostgres: true,
      log: () => {},
      afterSettle: async (fleet, recheck) => {
        // One order's refunded amount changed behind everyone's back: the check must see it.
        const db = new pg.Client({ connectionString: fleet.databases.ordersUrl });
        await db.connect();
        try {
          const { rows } = await db.query<{ id: string }>(
            `UPDATE orders SET amount_refunded = amount_refunded + 1
              WHERE id = (SELECT id FROM orders WHERE status = 'paid' LIMIT 1) RETURNING id`,
          );
          expect(rows).toHaveLength(1);
          tampered = (await recheck()).violations.filter((v) => v.includes(rows[0].id));
          await db.query('UPDATE orders SET amount_refunded = amount_refunded - 1 WHERE id = $1', [
            rows[0].id,
          ]);
        } finally {
          await db.end();
        }
      },
    });
    expect(report.violations).toEqual([]);
    expect(tampered).toEqual([expect.stringMatching(/^refunds agree: .*orders 1$/)]);
    // It did what it says: real work, real kills, the restart.
    expect(report.checked.orders).toBeGreaterThan(20);
    expect(report.checked.refunded).toBeGreaterThan(0);
    expect(report.kills.length).toBeGreaterThanOrEqual(2);
    expect(report.postgresRestarts).toBe(1);
  }, 180_000);
});
