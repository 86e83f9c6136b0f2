import { describe, expect, it } from '@jest/globals';
import { freePort, freePortRange } from '#testing/ports.js';
import { runChaos } from '../tools/chaos/run.js';

/**
 * A short run of `npm run chaos` (issue 13): 2 orders + 2 payments processes on their own embedded
 * PostgreSQL, a storefront workload retrying with its keys, instances killed with SIGKILL and
 * restarted every few seconds, PostgreSQL restarted once; then every invariant must hold.
 */
describe('chaos (a fleet through kills and a database restart)', () => {
  it('keeps every invariant and answers no 500', async () => {
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
    });
    expect(report.violations).toEqual([]);
    // It did what it says: real work, real kills, the restart.
    expect(report.checked.orders).toBeGreaterThan(20);
    expect(report.checked.refunded).toBeGreaterThan(0);
    expect(report.kills.length).toBeGreaterThanOrEqual(2);
    expect(report.postgresRestarts).toBe(1);
  }, 180_000);
});
