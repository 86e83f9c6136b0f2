import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A service as it runs in production: its own Node process from the built dist/, with
 * OpenTelemetry preloaded. Its output is kept (for secret scans) and shown when it fails.
 */
export class ServiceProcess {
  output = '';
  /** Resolves when the process has ended, with its exit code (null if a signal ended it). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    // 'close': the output is complete too.
    this.exited = new Promise((resolve) =>
      child.once('close', (code, signal) => resolve({ code, signal })),
    );
  }

  private static spawn(name: 'orders' | 'payments', env: NodeJS.ProcessEnv): ServiceProcess {
    const child = spawn(
      process.execPath,
      [
        '--import',
        `${ROOT}dist/libs/observability/src/register.js`,
        `${ROOT}dist/apps/${name}/src/main.js`,
      ],
      { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return new ServiceProcess(name, child);
  }

  /** Starts a service expected to stop by itself (e.g. refusing its configuration). */
  static async runToExit(
    name: 'orders' | 'payments',
    env: NodeJS.ProcessEnv,
  ): Promise<{ code: number | null; output: string }> {
    const service = ServiceProcess.spawn(name, env);
    const timer = setTimeout(() => service.child.kill('SIGKILL'), 20_000);
    const { code } = await service.exited;
    clearTimeout(timer);
    return { code, output: service.output };
  }

  static async start(
    name: 'orders' | 'payments',
    env: NodeJS.ProcessEnv,
    readyUrl: string,
  ): Promise<ServiceProcess> {
    const service = ServiceProcess.spawn(name, env);
    const { child } = service;
    try {
      await waitFor(
        () => `${name} to be ready:\n${service.output}`,
        async () => {
          if (child.exitCode !== null) {
            throw new Error(`${name} exited (${child.exitCode}):\n${service.output}`);
          }
          const status = await fetch(readyUrl).then(
            (response) => response.status,
            () => 0, // not listening yet
          );
          return status === 200 || undefined;
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    return service;
  }

  /** Sends `signal` without waiting: see `exited`. */
  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
