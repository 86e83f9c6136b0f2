// A fleet on one machine: several orders and payments instances on one PostgreSQL, reaching each
// other through multi-address gRPC targets with round robin, the Stripe stand-in delivering each
// webhook to the payments instances in turn. Used by `npm run fleet` and `npm run chaos`.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DEV_WEBHOOK_SECRET } from '#common/config/defaults.js';
import { STRIPE_WEBHOOK_EVENTS } from '#contracts/stripe-events.js';
import { StripeStandIn } from '../stripe-stand-in/server.js';
import {
  createDatabaseIfMissing,
  type RunningPostgres,
  startEmbeddedPostgres,
} from '#testing/embedded-postgres.js';

/** The project's root: the nearest directory above this file with a package.json (from the
 * TypeScript sources under Jest as from dist/). */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return `${dir}/`;
}
const ROOT = projectRoot();
const READY_TIMEOUT_MS = 60_000;
const KILL_AFTER_MS = 5_000;

export type ServiceName = 'orders' | 'payments';

/** The ports of instance `index` (0-based) of each service, from four bases. */
export interface FleetPorts {
  ordersHttp: number;
  ordersGrpc: number;
  paymentsHttp: number;
  paymentsGrpc: number;
  stripeStandIn: number;
}

export interface FleetOptions {
  instances: Record<ServiceName, number>;
  ports: FleetPorts;
  /** Both databases' URLs; unset: an embedded PostgreSQL in `dataDir` on `postgresPort`. */
  databases?: { ordersUrl: string; paymentsUrl: string };
  dataDir: string;
  postgresPort: number;
  /** Added to every instance's environment (REDIS_URL, NODE_ENV, limits...). */
  env: NodeJS.ProcessEnv;
  /** Each line an instance writes, with its name; default: dropped. */
  onOutput?: (instance: string, line: string) => void;
  /** Something the fleet itself has to say. */
  log?: (line: string) => void;
}

/** One process of the fleet. */
export class Instance {
  private child?: ChildProcess;
  /** Resolves when the current process ends. */
  private exited?: Promise<void>;
  /** Set while the fleet itself is ending the process: any other end is reported. */
  private ending = false;
  /** Its last lines of output, to explain a failed start. */
  readonly lastLines: string[] = [];

  constructor(
    readonly name: string,
    readonly service: ServiceName,
    readonly httpPort: number,
    readonly grpcPort: number,
    private readonly env: NodeJS.ProcessEnv,
    private readonly onOutput: (instance: string, line: string) => void,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && !this.child.signalCode;
  }

  /** Starts the process and waits until it answers ready. */
  async start(): Promise<void> {
    const child = spawn(
      process.execPath,
      [
        '--import',
        `${ROOT}dist/libs/observability/src/register.js`,
        `${ROOT}dist/apps/${this.service}/src/main.js`,
      ],
      { cwd: ROOT, env: this.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    this.ending = false;
    this.exited = once(child, 'exit').then(([code, signal]) => {
      if (!this.ending) this.onOutput(this.name, `exited unexpectedly (${signal ?? code})`);
    });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        this.lastLines.push(line);
        if (this.lastLines.length > 20) this.lastLines.shift();
        this.onOutput(this.name, line);
      });
    }
    await waitUntilReady(this, child);
  }

  /** SIGKILL: no drain, no goodbye, as when a node dies. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.ending = true;
    this.child!.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, as a rolling deploy stops a replica; SIGKILL if it takes too long. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.ending = true;
    this.child!.kill('SIGTERM');
    const killer = setTimeout(() => this.child?.kill('SIGKILL'), KILL_AFTER_MS);
    await this.exited;
    clearTimeout(killer);
  }
}

async function waitUntilReady(instance: Instance, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last: string;
  for (;;) {
    if (child.exitCode !== null || child.signalCode) {
      throw new Error(
        `${instance.name} exited while starting (${child.exitCode ?? child.signalCode}):\n` +
          instance.lastLines.join('\n'),
      );
    }
    try {
      const response = await fetch(`${instance.url}/health/ready`, {
        signal: AbortSignal.timeout(2_000),
      });
      if (response.status === 200) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(
        `${instance.name} was not ready within ${READY_TIMEOUT_MS / 1000} s: ${last}`,
      );
    }
    await sleep(200);
  }
}

/** A multi-address gRPC target (grpc-js `ipv4:` scheme) over loopback ports. */
function grpcTarget(ports: number[]): string {
  return `ipv4:${ports.map((port) => `127.0.0.1:${port}`).join(',')}`;
}

export class Fleet {
  private constructor(
    readonly orders: Instance[],
    readonly payments: Instance[],
    readonly stripe: StripeStandIn,
    readonly databases: { ordersUrl: string; paymentsUrl: string },
    private postgres: RunningPostgres | undefined,
    private readonly options: FleetOptions,
  ) {}

  get instances(): Instance[] {
    return [...this.orders, ...this.payments];
  }

  /** Whether the fleet runs its own PostgreSQL (which restartPostgres can restart). */
  get ownsPostgres(): boolean {
    return this.postgres !== undefined;
  }

  static async start(options: FleetOptions): Promise<Fleet> {
    const log = options.log ?? (() => {});
    const onOutput = options.onOutput ?? (() => {});
    let postgres: RunningPostgres | undefined;
    let databases = options.databases;
    if (!databases) {
      log(`starting PostgreSQL on port ${options.postgresPort}, data in ${options.dataDir}`);
      postgres = await startEmbeddedPostgres({
        dataDir: options.dataDir,
        port: options.postgresPort,
      });
      for (const database of ['orders', 'payments']) {
        await createDatabaseIfMissing(postgres.url(), database);
      }
      databases = { ordersUrl: postgres.url('orders'), paymentsUrl: postgres.url('payments') };
    }

    const { ports } = options;
    const indexes = (service: ServiceName) =>
      Array.from({ length: options.instances[service] }, (_, i) => i);
    const paymentsPorts = indexes('payments').map((i) => ({
      http: ports.paymentsHttp + i,
      grpc: ports.paymentsGrpc + i,
    }));
    const ordersPorts = indexes('orders').map((i) => ({
      http: ports.ordersHttp + i,
      grpc: ports.ordersGrpc + i,
    }));
    const target = (list: { grpc: number }[]) => grpcTarget(list.map((p) => p.grpc));

    log(`starting the Stripe stand-in on port ${ports.stripeStandIn}`);
    const stripe = await StripeStandIn.start({
      port: ports.stripeStandIn,
      webhook: {
        // A load balancer in front of the payments instances: each delivery to the next one.
        url: paymentsPorts.map((p) => `http://127.0.0.1:${p.http}/webhooks/stripe`),
        secret: DEV_WEBHOOK_SECRET,
        enabledEvents: STRIPE_WEBHOOK_EVENTS,
      },
    });

    const common: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NODE_ENV: 'development',
      STRIPE_API_URL: stripe.url,
      STRIPE_WEBHOOK_SECRET: DEV_WEBHOOK_SECRET,
      ...options.env,
    };
    const payments = paymentsPorts.map(
      (p, i) =>
        new Instance(
          `payments-${i + 1}`,
          'payments',
          p.http,
          p.grpc,
          {
            ...common,
            OTEL_SERVICE_NAME: 'payments',
            PAYMENTS_DATABASE_URL: databases.paymentsUrl,
            PAYMENTS_HTTP_PORT: String(p.http),
            PAYMENTS_GRPC_PORT: String(p.grpc),
            ORDERS_GRPC_URL: target(ordersPorts),
          },
          onOutput,
        ),
    );
    const orders = ordersPorts.map(
      (p, i) =>
        new Instance(
          `orders-${i + 1}`,
          'orders',
          p.http,
          p.grpc,
          {
            ...common,
            OTEL_SERVICE_NAME: 'orders',
            ORDERS_DATABASE_URL: databases.ordersUrl,
            ORDERS_HTTP_PORT: String(p.http),
            ORDERS_GRPC_PORT: String(p.grpc),
            PAYMENTS_GRPC_URL: target(paymentsPorts),
          },
          onOutput,
        ),
    );
    const fleet = new Fleet(orders, payments, stripe, databases, postgres, options);
    try {
      log(`starting ${payments.length} payments and ${orders.length} orders instances together`);
      // All at once, as a fleet rolls out: their migrations take turns under an advisory lock.
      await Promise.all(fleet.instances.map((instance) => instance.start()));
    } catch (error) {
      await fleet.stop();
      throw error;
    }
    return fleet;
  }

  instance(name: string): Instance {
    const found = this.instances.find((instance) => instance.name === name);
    if (!found) throw new Error(`no instance ${name}`);
    return found;
  }

  /**
   * Stops PostgreSQL (fast shutdown: sessions are terminated) and starts it again on the same
   * data and port, as a failover or a restart does.
   */
  async restartPostgres(): Promise<void> {
    if (!this.postgres) throw new Error('the fleet does not run its own PostgreSQL');
    await this.postgres.stop();
    this.postgres = await startEmbeddedPostgres({
      dataDir: this.options.dataDir,
      port: this.options.postgresPort,
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.orders.map((instance) => instance.stop()));
    await Promise.all(this.payments.map((instance) => instance.stop()));
    await this.stripe.stop();
    await this.postgres?.stop();
  }

  /** The gRPC targets each service is given, for what the fleet prints. */
  get targets(): Record<ServiceName, string> {
    const ports = (instances: Instance[]) => instances.map((instance) => instance.grpcPort);
    return { orders: grpcTarget(ports(this.orders)), payments: grpcTarget(ports(this.payments)) };
  }
}
