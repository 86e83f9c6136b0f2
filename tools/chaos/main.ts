// `npm run chaos`: the chaos suite against a fleet of 2 orders + 2 payments instances on one
// embedded PostgreSQL. CHAOS_DURATION_S (90), CHAOS_CONCURRENCY (8), CHAOS_KILL_EVERY_MS (4000).
// Prints what it did and every broken invariant; exits 1 when any is broken.
import { runChaos } from './run.js';

function setting(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

const report = await runChaos({
  durationMs: setting('CHAOS_DURATION_S', 90) * 1000,
  concurrency: setting('CHAOS_CONCURRENCY', 8),
  killEveryMs: setting('CHAOS_KILL_EVERY_MS', 4000),
  // Its own ports, beside npm start's and npm run fleet's.
  ports: {
    ordersHttp: 3300,
    ordersGrpc: 50352,
    paymentsHttp: 3400,
    paymentsGrpc: 50452,
    stripeStandIn: 12113,
  },
  postgresPort: setting('CHAOS_POSTGRES_PORT', 54349),
  restartPostgres: true,
  log: (line) => console.log(`[chaos] ${line}`),
});

console.log(`
chaos ${report.runId}: ${(report.durationMs / 1000).toFixed(0)} s, settled in ${(report.settleMs / 1000).toFixed(1)} s
  checked      ${Object.entries(report.checked)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}
  kills        ${report.kills.length} (${report.kills.join(', ')}); PostgreSQL restarts ${report.postgresRestarts}
  answers      ${Object.entries(report.statuses)
    .map(([status, n]) => `${status}: ${n}`)
    .join(', ')}
  violations   ${report.violations.length === 0 ? 'none' : `${report.violations.length}\n    ${report.violations.join('\n    ')}`}
`);
process.exit(report.violations.length === 0 ? 0 : 1);
