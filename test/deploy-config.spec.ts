/**
 * Offline consistency checks of the deployment files: docker-compose.yml, otel-collector-config.yaml,
 * deploy/ (init SQL, Prometheus, the image's health check), Dockerfile and .dockerignore. Nothing is
 * built or run in containers; the checks catch the drift between these files and the code that
 * would otherwise surface only at `docker compose up`. The external validators (docker compose,
 * promtool, otelcol-contrib) run when installed and are skipped, by name, otherwise.
 */
import { describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { parse } from 'yaml';
import { loadOrdersConfig } from '../apps/orders/src/config.js';
import { loadPaymentsConfig } from '../apps/payments/src/config.js';
import { serviceResource } from '../libs/observability/src/sdk.js';
import { keptResourceAttributes } from './support/collector-config.js';
import { COMPOSE_ENV_FILE, writeDevKeys } from '../tools/dev/keys.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

// ---- small typed views of parsed YAML ----

type Mapping = Record<string, unknown>;

function mapping(value: unknown, where: string): Mapping {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${where}: expected a mapping`);
  }
  return value as Mapping;
}

function optionalMapping(value: unknown, where: string): Mapping {
  return value === undefined || value === null ? {} : mapping(value, where);
}

function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${where}: expected a list`);
  return value as unknown[];
}

function text(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new Error(`${where}: expected a scalar`);
}

function texts(value: unknown, where: string): string[] {
  if (value === undefined || value === null) return [];
  return list(value, where).map((item, i) => text(item, `${where}[${i}]`));
}

function portOf(endpoint: string): string {
  const match = /:(\d+)$/.exec(endpoint);
  if (!match) throw new Error(`no port in ${endpoint}`);
  return match[1];
}

// ---- docker-compose.yml ----

interface ComposeService {
  name: string;
  raw: Mapping;
  /** The environment as written (before interpolation). */
  environment: Record<string, string>;
  dependsOn: Record<string, string>;
  profiles: string[];
  ports: string[];
  expose: string[];
  build: { context: string; dockerfile: string; args: Record<string, string> } | undefined;
}

const composeText = read('docker-compose.yml');
const compose = mapping(parse(composeText), 'docker-compose.yml');
const services: Record<string, ComposeService> = Object.fromEntries(
  Object.entries(mapping(compose.services, 'services')).map(([name, value]) => {
    const raw = mapping(value, `services.${name}`);
    return [name, composeService(name, raw)];
  }),
);

function composeService(name: string, raw: Mapping): ComposeService {
  const where = `services.${name}`;
  const environment: Record<string, string> = {};
  if (Array.isArray(raw.environment)) {
    for (const entry of texts(raw.environment, `${where}.environment`)) {
      const at = entry.indexOf('=');
      environment[at < 0 ? entry : entry.slice(0, at)] = at < 0 ? '' : entry.slice(at + 1);
    }
  } else {
    for (const [key, value] of Object.entries(optionalMapping(raw.environment, where))) {
      environment[key] = value === null ? '' : text(value, `${where}.environment.${key}`);
    }
  }
  const dependsOn: Record<string, string> = {};
  if (Array.isArray(raw.depends_on)) {
    for (const dep of texts(raw.depends_on, `${where}.depends_on`)) {
      dependsOn[dep] = 'service_started';
    }
  } else {
    for (const [dep, value] of Object.entries(optionalMapping(raw.depends_on, where))) {
      const condition = optionalMapping(value, `${where}.depends_on.${dep}`).condition;
      dependsOn[dep] = condition === undefined ? 'service_started' : text(condition, dep);
    }
  }
  let build: ComposeService['build'];
  if (raw.build !== undefined) {
    const spec = typeof raw.build === 'string' ? { context: raw.build } : mapping(raw.build, where);
    build = {
      context: text(spec.context, `${where}.build.context`),
      dockerfile:
        spec.dockerfile === undefined ? 'Dockerfile' : text(spec.dockerfile, 'dockerfile'),
      args: Object.fromEntries(
        Object.entries(optionalMapping(spec.args, `${where}.build.args`)).map(([k, v]) => [
          k,
          text(v, k),
        ]),
      ),
    };
  }
  return {
    name,
    raw,
    environment,
    dependsOn,
    profiles: texts(raw.profiles, `${where}.profiles`),
    ports: texts(raw.ports, `${where}.ports`),
    expose: texts(raw.expose, `${where}.expose`),
    build,
  };
}

function service(name: string): ComposeService {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

/** Compose's variable interpolation: ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}. */
function interpolate(value: string, vars: Record<string, string | undefined>): string {
  return value.replace(
    /\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\})/g,
    (
      match: string,
      name: string | undefined,
      colon: string | undefined,
      op: string | undefined,
      arg: string | undefined,
    ) => {
      if (name === undefined) return '$';
      const current = vars[name];
      const missing = colon ? !current : current === undefined;
      if (op === '?' && missing) throw new Error(`${name}: ${arg ?? 'required'}`);
      if (op === '-' && missing) return arg ?? '';
      return current ?? '';
    },
  );
}

/** Values for the variables compose requires, shaped as the services' checks demand. */
/** A public key (not a secret) in the one-line form .env files carry. */
const JWT_PUBLIC_KEY =
  '-----BEGIN PUBLIC KEY-----\\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYMSSzJbVffxkKQ4+cq9ybP5gVErM\\n' +
  '510kYX5rro5n+BtzE8zNvMJdD4ZHqAxJ3nMG5qwVkFBRk07gbmwVEeIasg==\\n-----END PUBLIC KEY-----';

const SECRETS = {
  JWT_PUBLIC_KEY,
  JWT_ISSUER: 'https://id.example.com/',
  JWT_AUDIENCE: 'orders-api',
  STRIPE_SECRET_KEY: 'sk_test_compose_spec',
  STRIPE_WEBHOOK_SECRET: 'whsec_compose_spec',
  PAYMENTS_GRPC_TOKEN: 'compose-spec-orders-to-payments-token-0123456789',
  ORDERS_GRPC_TOKEN: 'compose-spec-payments-to-orders-token-0123456789',
};

/** The environment a container of this service gets, as compose would pass it. */
function containerEnv(name: string, vars: Record<string, string | undefined> = SECRETS) {
  return Object.fromEntries(
    Object.entries(service(name).environment).map(([key, value]) => [
      key,
      interpolate(value, vars),
    ]),
  );
}

/**
 * The env file `npm run -s dev:keys` writes for the offline profile (written to a temporary
 * directory), parsed as compose and node parse it.
 */
async function offlineEnvironment(): Promise<Record<string, string>> {
  const root = mkdtempSync(join(tmpdir(), 'dev-keys-'));
  try {
    await writeDevKeys(root);
    return parseEnv(readFileSync(join(root, COMPOSE_ENV_FILE), 'utf8')) as Record<string, string>;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Variables documented in .env.example (uncommented NAME= lines). */
const envExampleNames = new Set(
  read('.env.example')
    .split('\n')
    .map((line) => /^([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined),
);

// ---- otel-collector-config.yaml ----

const collector = mapping(parse(read('otel-collector-config.yaml')), 'otel-collector-config.yaml');
const collectorService = mapping(collector.service, 'service');
const pipelines = mapping(collectorService.pipelines, 'service.pipelines');
const receivers = mapping(collector.receivers, 'receivers');
const processors = mapping(collector.processors, 'processors');
const exporters = mapping(collector.exporters, 'exporters');
const extensions = optionalMapping(collector.extensions, 'extensions');

/** Component ids are `type` or `type/name`. */
const typeOf = (id: string) => id.split('/')[0];

function otlpReceiverEndpoint(protocol: 'grpc' | 'http'): string {
  const otlp = mapping(receivers.otlp, 'receivers.otlp');
  const protocols = mapping(otlp.protocols, 'receivers.otlp.protocols');
  const config = optionalMapping(protocols[protocol], `receivers.otlp.protocols.${protocol}`);
  return text(config.endpoint, `receivers.otlp.protocols.${protocol}.endpoint`);
}

// ---- Dockerfile ----

interface Instruction {
  keyword: string;
  args: string;
}

const dockerfile: Instruction[] = read('Dockerfile')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'))
  .map((line) => {
    const [keyword, ...rest] = line.split(/\s+/);
    return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
  });
const firstFrom = dockerfile.findIndex((i) => i.keyword === 'FROM');
const globalArgs = Object.fromEntries(
  dockerfile
    .slice(0, firstFrom)
    .filter((i) => i.keyword === 'ARG')
    .map((i) => {
      const [name, value = ''] = i.args.split('=');
      return [name, value];
    }),
);
const lastFrom = dockerfile.map((i) => i.keyword).lastIndexOf('FROM');
const finalStage = dockerfile.slice(lastFrom);
const stageInstructions = (keyword: string) => finalStage.filter((i) => i.keyword === keyword);

function jsonForm(args: string, where: string): string[] {
  const value: unknown = JSON.parse(args);
  return texts(value, where);
}

/** The image's health check command: `HEALTHCHECK [options] CMD [...]`. */
function healthcheckCommand(): string[] {
  const [healthcheck] = stageInstructions('HEALTHCHECK');
  if (!healthcheck) throw new Error('Dockerfile final stage has no HEALTHCHECK');
  const at = healthcheck.args.indexOf('CMD ');
  return jsonForm(healthcheck.args.slice(at + 4), 'HEALTHCHECK CMD');
}

const dockerignore = read('.dockerignore')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

function dockerignored(path: string): boolean {
  let ignored = false;
  for (const pattern of dockerignore) {
    const negated = pattern.startsWith('!');
    const glob = (negated ? pattern.slice(1) : pattern).replace(/^\/+|\/+$/g, '');
    const regex = new RegExp(
      '^' + glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*') + '(/.*)?$',
    );
    if (regex.test(path.replace(/^\.\//, ''))) ignored = !negated;
  }
  return ignored;
}

// ---- running things ----

async function runNode(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

async function listen(status: number): Promise<Server> {
  const server = createServer((req, res) => {
    res.statusCode = req.url === '/health/live' ? status : 404;
    res.end('{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

const portOfServer = (server: Server) => String((server.address() as AddressInfo).port);

/** Whether this command runs here (exits 0). */
function runs(command: string, ...args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

// =============================================================================
describe('docker-compose.yml', () => {
  it('defines the stack: postgres, redis, collector, jaeger, prometheus, the services, proxy, stand-in', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'jaeger',
        'orders',
        'otel-collector',
        'payments',
        'postgres',
        'prometheus',
        'proxy',
        'redis',
        'stripe-stand-in',
      ].sort(),
    );
    expect(text(service('postgres').raw.image, 'postgres.image')).toMatch(/^postgres:18(\.|$)/);
    expect(text(service('jaeger').raw.image, 'jaeger.image')).toMatch(/^jaegertracing\/jaeger:2\./);
    expect(text(service('otel-collector').raw.image, 'otel-collector.image')).toMatch(
      /^otel\/opentelemetry-collector-contrib:/,
    );
    expect(text(service('prometheus').raw.image, 'prometheus.image')).toMatch(/^prom\/prometheus:/);
    // The stand-in is a development tool: only with --profile offline.
    expect(service('stripe-stand-in').profiles).toEqual(['offline']);
    for (const name of [
      'postgres',
      'redis',
      'otel-collector',
      'jaeger',
      'prometheus',
      'payments',
      'orders',
      'proxy',
    ]) {
      expect({ name, profiles: service(name).profiles }).toEqual({ name, profiles: [] });
    }
  });

  it('every depends_on names a defined, always-enabled service, without cycles', () => {
    for (const svc of Object.values(services)) {
      for (const [dep, condition] of Object.entries(svc.dependsOn)) {
        expect({ from: svc.name, dep, defined: dep in services }).toEqual({
          from: svc.name,
          dep,
          defined: true,
        });
        expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(
          condition,
        );
        // A service outside any profile cannot wait for one that is off by default.
        if (svc.profiles.length === 0)
          expect({ dep, profiles: service(dep).profiles }).toEqual({ dep, profiles: [] });
      }
    }
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (name: string, path: string[]) => {
      if (done.has(name)) return;
      if (visiting.has(name)) throw new Error(`depends_on cycle: ${[...path, name].join(' -> ')}`);
      visiting.add(name);
      for (const dep of Object.keys(service(name).dependsOn)) visit(dep, [...path, name]);
      visiting.delete(name);
      done.add(name);
    };
    for (const name of Object.keys(services)) visit(name, []);
  });

  it('every service has a health check (compose or the image), except the distroless collector', () => {
    const imageHasHealthcheck = stageInstructions('HEALTHCHECK').length > 0;
    const healthChecked = (svc: ComposeService) =>
      svc.raw.healthcheck !== undefined || (svc.build !== undefined && imageHasHealthcheck);
    for (const svc of Object.values(services)) {
      // otel/opentelemetry-collector-contrib has no shell, curl or wget to run a check with.
      const expected = svc.name !== 'otel-collector';
      expect({ service: svc.name, healthChecked: healthChecked(svc) }).toEqual({
        service: svc.name,
        healthChecked: expected,
      });
    }
    // service_healthy on a service without a health check would block `up` forever.
    for (const svc of Object.values(services)) {
      for (const [dep, condition] of Object.entries(svc.dependsOn)) {
        if (condition === 'service_healthy') {
          expect({ dep, healthChecked: healthChecked(service(dep)) }).toEqual({
            dep,
            healthChecked: true,
          });
        }
      }
    }
  });

  it('starts postgres, redis and the collector before the services, payments before orders', () => {
    for (const name of ['orders', 'payments']) {
      expect(service(name).dependsOn).toMatchObject({
        postgres: 'service_healthy',
        redis: 'service_healthy',
        'otel-collector': expect.any(String),
      });
    }
    expect(service('proxy').dependsOn).toEqual({
      orders: 'service_healthy',
      payments: 'service_healthy',
    });
    expect(service('orders').dependsOn).toMatchObject({ payments: 'service_healthy' });
    expect(service('otel-collector').dependsOn).toMatchObject({ jaeger: 'service_healthy' });
  });

  it('refuses to start without JWT_ISSUER, JWT_AUDIENCE, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET and the gRPC tokens', () => {
    const required = new Set(
      [...composeText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):\?/g)].map((m) => m[1]),
    );
    expect([...required].sort()).toEqual([
      'JWT_AUDIENCE',
      'JWT_ISSUER',
      'ORDERS_GRPC_TOKEN',
      'PAYMENTS_GRPC_TOKEN',
      'STRIPE_SECRET_KEY',
      'STRIPE_WEBHOOK_SECRET',
    ]);
    expect(() => containerEnv('orders', {})).toThrow(/^JWT_ISSUER: set JWT_ISSUER/);
    // Neither JWT_JWKS_URL nor JWT_PUBLIC_KEY: orders itself refuses (HS256 in production).
    expect(() =>
      loadOrdersConfig(containerEnv('orders', { ...SECRETS, JWT_PUBLIC_KEY: undefined })),
    ).toThrow(/JWT_SECRET: .*set JWT_JWKS_URL or JWT_PUBLIC_KEY/);
    expect(() => containerEnv('payments', {})).toThrow(/^STRIPE_SECRET_KEY: set STRIPE_SECRET_KEY/);
    expect(() => containerEnv('payments', { STRIPE_SECRET_KEY: 'sk_test_x' })).toThrow(
      /^STRIPE_WEBHOOK_SECRET: set STRIPE_WEBHOOK_SECRET/,
    );
  });

  it('every variable orders and payments get is documented in .env.example', () => {
    const undocumented = Object.fromEntries(
      ['orders', 'payments'].map((name) => [
        name,
        Object.keys(service(name).environment).filter((key) => !envExampleNames.has(key)),
      ]),
    );
    expect(undocumented).toEqual({ orders: [], payments: [] });
  });

  it("the services' environment passes their own production configuration checks", () => {
    const orders = loadOrdersConfig(containerEnv('orders'));
    expect(orders.nodeEnv).toBe('production');
    expect(orders.http).toEqual({ host: '0.0.0.0', port: 3000 });
    expect(orders.grpc).toEqual({ host: '0.0.0.0', port: 50052 });

    const payments = loadPaymentsConfig(containerEnv('payments'));
    expect(payments.nodeEnv).toBe('production');
    expect(payments.http).toEqual({ host: '0.0.0.0', port: 3001 });
    expect(payments.grpc).toEqual({ host: '0.0.0.0', port: 50051 });
    // No STRIPE_API_URL: the real Stripe API.
    expect(payments.stripe.apiUrl).toBeUndefined();
    expect(payments.webhooks.secrets).toEqual([SECRETS.STRIPE_WEBHOOK_SECRET]);
    // Each service accepts the token the other presents, under the caller's name.
    expect(payments.grpcTrust.callers).toEqual([
      { caller: 'orders', token: orders.payments.token },
    ]);
    expect(orders.grpcTrust.callers).toEqual([
      { caller: 'payments', token: payments.orders.token },
    ]);
  });

  it('the offline profile, with the env file dev:keys writes, points payments at the stand-in and its webhooks back', async () => {
    // The documented command: `npm run -s dev:keys`, then compose with --env-file.
    expect(composeText).toContain('npm run -s dev:keys');
    expect(composeText).toContain(
      `docker compose --env-file ${COMPOSE_ENV_FILE} --profile offline up --build`,
    );
    const generated = await offlineEnvironment();
    const payments = loadPaymentsConfig(containerEnv('payments', generated));
    expect(payments.nodeEnv).toBe('production');
    const orders = loadOrdersConfig(containerEnv('orders', generated));
    expect(orders.nodeEnv).toBe('production');
    // Each service accepts the token the other presents.
    expect(payments.grpcTrust.callers).toEqual([
      { caller: 'orders', token: orders.payments.token },
    ]);
    // Both connect to the postgres service with the password the env file gives it.
    expect(new URL(containerEnv('orders', generated).ORDERS_DATABASE_URL).password).toBe(
      containerEnv('postgres', generated).POSTGRES_PASSWORD,
    );

    const standIn = containerEnv('stripe-stand-in', generated);
    const apiUrl = payments.stripe.apiUrl!;
    expect(apiUrl.hostname).toBe('stripe-stand-in');
    expect(apiUrl.port).toBe(standIn.STRIPE_STAND_IN_PORT);
    expect(standIn.STRIPE_STAND_IN_HOST).toBe('0.0.0.0');
    // The stand-in signs with the secret payments verifies with.
    expect(payments.webhooks.secrets).toContain(standIn.STRIPE_WEBHOOK_SECRET);
    const webhookUrl = new URL(standIn.STRIPE_STAND_IN_WEBHOOK_URL);
    expect(webhookUrl.hostname).toBe('payments');
    expect(Number(webhookUrl.port)).toBe(payments.http.port);
    expect(webhookUrl.pathname).toBe('/webhooks/stripe');
    expect(
      readFileSync(join(ROOT, 'apps/payments/src/webhooks/stripe-webhook.controller.ts'), 'utf8'),
    ).toContain(`STRIPE_WEBHOOK_PATH = '${webhookUrl.pathname}'`);
    // Its command is the built stand-in.
    const command = texts(service('stripe-stand-in').raw.command, 'stripe-stand-in.command');
    expect(command).toEqual(['node', 'dist/tools/stripe-stand-in/main.js']);
    expect(existsSync(join(ROOT, 'tools/stripe-stand-in/main.ts'))).toBe(true);
  });

  it('gRPC addresses name every replica of the other service (dns:///, round robin)', () => {
    const orders = containerEnv('orders');
    const payments = containerEnv('payments');
    expect(orders.PAYMENTS_GRPC_URL).toBe(`dns:///payments:${payments.PAYMENTS_GRPC_PORT}`);
    expect(payments.ORDERS_GRPC_URL).toBe(`dns:///orders:${orders.ORDERS_GRPC_PORT}`);
    for (const env of [orders, payments]) expect(env.GRPC_LB_POLICY).toBe('round_robin');
    expect(loadOrdersConfig(orders).grpcChannel.lbPolicy).toBe('round_robin');
  });

  it('runs two replicas of each service, restarted unless stopped, sharing Redis', () => {
    for (const name of ['orders', 'payments']) {
      expect(optionalMapping(service(name).raw.deploy, `${name}.deploy`).replicas).toBe(2);
      // Replicas cannot share a published port, nor a container name.
      expect(service(name).ports).toEqual([]);
      expect(service(name).raw.container_name).toBeUndefined();
      expect(containerEnv(name).REDIS_URL).toBe('redis://redis:6379');
    }
    for (const svc of Object.values(services)) {
      expect({ service: svc.name, restart: svc.raw.restart }).toEqual({
        service: svc.name,
        restart: 'unless-stopped',
      });
    }
    expect(text(service('redis').raw.image, 'redis.image')).toMatch(/^redis:\d/);
  });

  it('the proxy spreads each published port over the replicas, and the services trust only it', () => {
    const conf = read('deploy/nginx/nginx.conf');
    expect(service('proxy').raw.volumes).toContain(
      './deploy/nginx/nginx.conf:/etc/nginx/nginx.conf:ro',
    );
    // Each server block: listen <port>, proxy_pass to the service of that port.
    const servers = [...conf.matchAll(/listen (\d+);[^}]*set \$\w+ http:\/\/(\w+):(\d+);/g)].map(
      (m) => [m[1], m[2], m[3]],
    );
    const orders = containerEnv('orders');
    const payments = containerEnv('payments');
    expect(servers).toEqual([
      [orders.ORDERS_HTTP_PORT, 'orders', orders.ORDERS_HTTP_PORT],
      [payments.PAYMENTS_HTTP_PORT, 'payments', payments.PAYMENTS_HTTP_PORT],
    ]);
    // A variable in proxy_pass: names resolved per request through Docker's DNS (every replica).
    expect(conf).toContain('resolver 127.0.0.11');
    const address = mapping(
      mapping(service('proxy').raw.networks, 'proxy.networks').default,
      'proxy.networks.default',
    ).ipv4_address;
    for (const [name, load] of [
      ['orders', loadOrdersConfig],
      ['payments', loadPaymentsConfig],
    ] as const) {
      expect(load(containerEnv(name)).trustedProxies).toEqual([address]);
    }
  });

  it('database URLs name the postgres service and databases init.sql creates', () => {
    const created = new Set(
      [...read('deploy/postgres/init.sql').matchAll(/^\s*CREATE DATABASE\s+"?(\w+)"?/gim)].map(
        (m) => m[1],
      ),
    );
    const postgresEnv = containerEnv('postgres');
    for (const [name, key] of [
      ['orders', 'ORDERS_DATABASE_URL'],
      ['payments', 'PAYMENTS_DATABASE_URL'],
    ] as const) {
      const url = new URL(containerEnv(name)[key]);
      expect({ key, host: url.hostname, port: url.port || '5432' }).toEqual({
        key,
        host: 'postgres',
        port: '5432',
      });
      expect(decodeURIComponent(url.username)).toBe(postgresEnv.POSTGRES_USER);
      expect(decodeURIComponent(url.password)).toBe(postgresEnv.POSTGRES_PASSWORD);
      expect(created).toContain(url.pathname.slice(1));
    }
    expect(service('postgres').raw.volumes).toContain(
      './deploy/postgres/init.sql:/docker-entrypoint-initdb.d/init.sql:ro',
    );
    const pgCheck = texts(mapping(service('postgres').raw.healthcheck, 'hc').test, 'hc.test');
    expect(pgCheck).toContain('pg_isready');
  });

  it('bind-mounted files exist, and built services run an existing entry point', () => {
    for (const svc of Object.values(services)) {
      for (const volume of texts(svc.raw.volumes, `${svc.name}.volumes`)) {
        const [source] = volume.split(':');
        if (source.startsWith('./')) {
          expect({ volume, exists: existsSync(join(ROOT, source)) }).toEqual({
            volume,
            exists: true,
          });
        }
      }
    }
    for (const svc of Object.values(services)) {
      if (svc.build === undefined) continue;
      // All built from this repository's Dockerfile, the SERVICE argument naming what runs.
      expect({ service: svc.name, ...svc.build }).toEqual({
        service: svc.name,
        context: '.',
        dockerfile: 'Dockerfile',
        args: { SERVICE: svc.name },
      });
    }
    for (const name of ['orders', 'payments']) {
      expect(service(name).raw.command).toBeUndefined();
      expect(existsSync(join(ROOT, `apps/${name}/src/main.ts`))).toBe(true);
    }
  });

  it("publishes the services' HTTP ports on loopback only", () => {
    const published = (name: string) =>
      service(name).ports.map((spec) => {
        const match = /^127\.0\.0\.1:(\d+):(\d+)$/.exec(spec);
        if (!match) throw new Error(`${name}: port ${spec} is not 127.0.0.1:host:container`);
        return match[2];
      });
    for (const name of Object.keys(services)) published(name);
    // Through the proxy: the replicas publish nothing themselves.
    expect(published('proxy')).toEqual([
      containerEnv('orders').ORDERS_HTTP_PORT,
      containerEnv('payments').PAYMENTS_HTTP_PORT,
    ]);
    expect(published('postgres')).toEqual([]);
    expect(published('redis')).toEqual([]);
  });

  it('the services export OTLP to a collector receiver, under their own service name', () => {
    for (const name of ['orders', 'payments']) {
      const env = containerEnv(name);
      expect(env.OTEL_SERVICE_NAME).toBe(name);
      expect(env.OTEL_SEMCONV_STABILITY_OPT_IN.split(',').sort()).toEqual([
        'database',
        'http',
        'rpc',
      ]);
      const endpoint = new URL(env.OTEL_EXPORTER_OTLP_ENDPOINT);
      expect(endpoint.hostname).toBe('otel-collector');
      // The JavaScript SDK's default protocol is http/protobuf.
      const protocol = env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
      const receiver = otlpReceiverEndpoint(protocol === 'grpc' ? 'grpc' : 'http');
      expect(endpoint.port).toBe(portOf(receiver));
      expect(pipelinesUsing('receivers', 'otlp')).toEqual(['logs', 'metrics', 'traces']);
    }
  });
});

function pipelinesUsing(kind: 'receivers' | 'processors' | 'exporters', id: string): string[] {
  return Object.entries(pipelines)
    .filter(([name, pipeline]) =>
      texts(mapping(pipeline, name)[kind], `${name}.${kind}`).includes(id),
    )
    .map(([name]) => name)
    .sort();
}

describe('otel-collector-config.yaml', () => {
  it('has traces, metrics and logs pipelines, referencing only defined components', () => {
    expect(Object.keys(pipelines).sort()).toEqual(['logs', 'metrics', 'traces']);
    const used = {
      receivers: new Set<string>(),
      processors: new Set<string>(),
      exporters: new Set<string>(),
    };
    for (const [name, value] of Object.entries(pipelines)) {
      const pipeline = mapping(value, `service.pipelines.${name}`);
      for (const [kind, defined] of [
        ['receivers', receivers],
        ['processors', processors],
        ['exporters', exporters],
      ] as const) {
        const ids = texts(pipeline[kind], `service.pipelines.${name}.${kind}`);
        if (kind !== 'processors') expect(ids.length).toBeGreaterThan(0);
        for (const id of ids) {
          expect({ pipeline: name, kind, id, defined: id in defined }).toEqual({
            pipeline: name,
            kind,
            id,
            defined: true,
          });
          used[kind].add(id);
        }
      }
    }
    // A defined but unused component is ignored by the collector: a sign of a typo.
    expect(Object.keys(receivers).filter((id) => !used.receivers.has(id))).toEqual([]);
    expect(Object.keys(processors).filter((id) => !used.processors.has(id))).toEqual([]);
    expect(Object.keys(exporters).filter((id) => !used.exporters.has(id))).toEqual([]);
  });

  it('runs memory_limiter first and batch last in every pipeline', () => {
    const limiter = mapping(processors.memory_limiter, 'processors.memory_limiter');
    expect(Object.keys(limiter).sort()).toEqual(
      ['check_interval', 'limit_percentage', 'spike_limit_percentage'].sort(),
    );
    expect(Number(limiter.spike_limit_percentage)).toBeLessThan(Number(limiter.limit_percentage));
    // Percentages need a memory limit on the container.
    expect(service('otel-collector').raw.mem_limit).toBeDefined();
    for (const [name, value] of Object.entries(pipelines)) {
      const ids = texts(mapping(value, name).processors, `${name}.processors`);
      expect({ pipeline: name, first: ids[0], last: ids.at(-1) }).toEqual({
        pipeline: name,
        first: 'memory_limiter',
        last: 'batch',
      });
    }
    expect(pipelinesUsing('exporters', 'debug')).toEqual(['logs', 'metrics', 'traces']);
    expect(pipelinesUsing('exporters', 'prometheus')).toEqual(['metrics']);
  });

  it('enables the health_check extension on 13133, published by compose', () => {
    const enabled = texts(collectorService.extensions, 'service.extensions');
    for (const id of enabled) expect(extensions).toHaveProperty([id]);
    expect(enabled).toContain('health_check');
    const endpoint = text(
      mapping(extensions.health_check, 'extensions.health_check').endpoint,
      'health_check.endpoint',
    );
    expect(endpoint).toBe('0.0.0.0:13133');
    expect(service('otel-collector').ports).toContain('127.0.0.1:13133:13133');
  });

  it('receives OTLP on 0.0.0.0:4317 (gRPC) and 0.0.0.0:4318 (HTTP), published by compose', () => {
    expect(otlpReceiverEndpoint('grpc')).toBe('0.0.0.0:4317');
    expect(otlpReceiverEndpoint('http')).toBe('0.0.0.0:4318');
    expect(service('otel-collector').ports).toEqual(
      expect.arrayContaining(['127.0.0.1:4317:4317', '127.0.0.1:4318:4318']),
    );
    expect(service('otel-collector').raw.volumes).toContain(
      './otel-collector-config.yaml:/etc/otelcol-contrib/config.yaml:ro',
    );
  });

  it('makes Prometheus labels of the service name, version, environment and instance only', () => {
    expect(
      mapping(exporters.prometheus, 'exporters.prometheus').resource_to_telemetry_conversion,
    ).toEqual({
      enabled: true,
    });
    const kept = keptResourceAttributes();
    expect(kept?.sort()).toEqual(
      [
        'deployment.environment.name',
        'service.instance.id',
        'service.name',
        'service.version',
      ].sort(),
    );
    // The services set the version and the environment (OTEL_SERVICE_NAME the name, the SDK the
    // instance id).
    const resource = serviceResource({ NODE_ENV: 'production', SERVICE_VERSION: '1.2.3' });
    expect(resource.attributes).toMatchObject({
      'service.version': '1.2.3',
      'deployment.environment.name': 'production',
    });
    // Traces keep the whole resource (host, process) for Jaeger.
    const traceProcessors = texts(mapping(pipelines.traces, 'traces').processors, 'traces');
    expect(traceProcessors.filter((id) => typeOf(id) === 'transform')).toEqual([]);
  });

  it('sends traces to the jaeger service on a port Jaeger listens on (OTLP gRPC, plaintext)', () => {
    const ids = texts(mapping(pipelines.traces, 'traces').exporters, 'traces.exporters').filter(
      (id) => ['otlp', 'otlp_grpc'].includes(typeOf(id)),
    );
    expect(ids).toHaveLength(1);
    const exporter = mapping(exporters[ids[0]], ids[0]);
    const [host, port] = text(exporter.endpoint, `${ids[0]}.endpoint`).split(':');
    expect(host).toBe('jaeger');
    expect(service('jaeger').expose).toContain(port);
    // Jaeger v2 takes OTLP gRPC on 4317.
    expect(port).toBe('4317');
    expect(mapping(exporter.tls, `${ids[0]}.tls`).insecure).toBe(true);
  });
});

describe('deploy/prometheus/prometheus.yml', () => {
  const prometheus = mapping(parse(read('deploy/prometheus/prometheus.yml')), 'prometheus.yml');
  const targets = list(prometheus.scrape_configs, 'scrape_configs').flatMap((job, i) =>
    list(mapping(job, `scrape_configs[${i}]`).static_configs, 'static_configs').flatMap((sc) =>
      texts(mapping(sc, 'static_config').targets, 'targets'),
    ),
  );

  it("scrapes the collector's prometheus exporter and its own telemetry", () => {
    const exporterPort = portOf(
      text(mapping(exporters.prometheus, 'exporters.prometheus').endpoint, 'prometheus.endpoint'),
    );
    expect(targets).toContain(`otel-collector:${exporterPort}`);
    expect(mapping(exporters.prometheus, 'p').resource_to_telemetry_conversion).toEqual({
      enabled: true,
    });
    const readers = list(
      mapping(mapping(collectorService.telemetry, 'telemetry').metrics, 'metrics').readers,
      'readers',
    );
    const internal = mapping(
      mapping(mapping(mapping(readers[0], 'reader').pull, 'pull').exporter, 'exporter').prometheus,
      'prometheus',
    );
    expect(internal.host).toBe('0.0.0.0');
    expect(targets).toContain(`otel-collector:${text(internal.port, 'port')}`);
    expect(service('prometheus').raw.volumes).toContain(
      './deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro',
    );
  });
});

describe('Dockerfile', () => {
  it('builds on Node 24 with npm ci from the lockfile; the runtime gets production dependencies only', () => {
    const froms = dockerfile.filter((i) => i.keyword === 'FROM');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) {
      const image = from.args
        .split(/\s+/)[0]
        .replace(/\$\{(\w+)\}/g, (_match: string, name: string) => globalArgs[name] ?? '');
      expect(image).toMatch(/^node:24(-|$)/);
    }
    const runs = dockerfile.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs.filter((run) => /npm (install|i)\b/.test(run))).toEqual([]);
    expect(runs).toContain('npm ci --no-audit --no-fund');
    expect(runs.some((run) => /npm run build/.test(run))).toBe(true);

    // The final stage's node_modules come from a stage that installed without the dev dependencies.
    const modules = stageInstructions('COPY')
      .map((i) => i.args.split(/\s+/))
      .filter((args) => args.at(-1) === './node_modules');
    expect(modules).toHaveLength(1);
    const from = /^--from=(\S+)$/.exec(modules[0][0])?.[1];
    const stageStart = dockerfile.findIndex(
      (i) => i.keyword === 'FROM' && new RegExp(`\\sAS\\s+${from}$`, 'i').test(i.args),
    );
    expect(stageStart).toBeGreaterThanOrEqual(0);
    const stageEnd = dockerfile.findIndex((i, at) => at > stageStart && i.keyword === 'FROM');
    const stageRuns = dockerfile
      .slice(stageStart, stageEnd)
      .filter((i) => i.keyword === 'RUN')
      .map((i) => i.args);
    expect(stageRuns).toEqual([expect.stringMatching(/^npm ci --omit=dev\b/)]);
  });

  it('runs as the non-root node user with NODE_ENV=production', () => {
    const users = stageInstructions('USER');
    expect(users.at(-1)?.args).toBe('node');
    expect(stageInstructions('ENV').map((i) => i.args)).toContain('NODE_ENV=production');
  });

  it('CMD preloads OpenTelemetry and runs the built service named by SERVICE', () => {
    const [cmd] = stageInstructions('CMD');
    const command = jsonForm(cmd.args, 'CMD').join(' ');
    expect(command).toContain(
      'exec node --import ./dist/libs/observability/src/register.js "dist/apps/${SERVICE}/src/main.js"',
    );
    expect(existsSync(join(ROOT, 'libs/observability/src/register.ts'))).toBe(true);
    expect(stageInstructions('ARG').map((i) => i.args)).toContain('SERVICE=orders');
    expect(stageInstructions('ENV').map((i) => i.args)).toContain('SERVICE=${SERVICE}');
    // The telemetry's service.version from the build (sdk.ts reads SERVICE_VERSION).
    expect(stageInstructions('ARG').map((i) => i.args)).toContain('SERVICE_VERSION=');
    expect(stageInstructions('ENV').map((i) => i.args)).toContain(
      'SERVICE_VERSION=${SERVICE_VERSION}',
    );
  });

  it('EXPOSEs the ports the services listen on and health-checks with a file the image has', () => {
    const exposed = stageInstructions('EXPOSE').flatMap((i) => i.args.split(/\s+/));
    const orders = containerEnv('orders');
    const payments = containerEnv('payments');
    expect(exposed.sort()).toEqual(
      [
        orders.ORDERS_HTTP_PORT,
        orders.ORDERS_GRPC_PORT,
        payments.PAYMENTS_HTTP_PORT,
        payments.PAYMENTS_GRPC_PORT,
      ].sort(),
    );
    const command = healthcheckCommand();
    expect(command[0]).toBe('node');
    const copied = stageInstructions('COPY').map((i) => i.args.split(/\s+/));
    expect(copied.some((args) => args.at(-1) === `./${command[1]}`)).toBe(true);
  });

  it('copies only files that exist and .dockerignore lets through; keeps secrets out', () => {
    for (const copy of dockerfile.filter((i) => i.keyword === 'COPY')) {
      const args = copy.args.split(/\s+/);
      if (args.some((arg) => arg.startsWith('--from='))) continue;
      for (const source of args.slice(0, -1).filter((arg) => !arg.startsWith('--'))) {
        expect({ source, exists: existsSync(join(ROOT, source)) }).toEqual({
          source,
          exists: true,
        });
        expect({ source, ignored: dockerignored(source) }).toEqual({ source, ignored: false });
      }
    }
    for (const path of [
      '.env',
      '.env.production',
      'node_modules',
      'dist',
      '.git',
      COMPOSE_ENV_FILE,
      'deploy/k8s/overlays/dev/secrets/orders.env',
    ]) {
      expect({ path, ignored: dockerignored(path) }).toEqual({ path, ignored: true });
    }
  });
});

describe('deploy/healthcheck.mjs (the image HEALTHCHECK)', () => {
  const script = 'deploy/healthcheck.mjs';

  it('is healthy when /health/live answers 200 on the service HTTP port', async () => {
    const server = await listen(200);
    try {
      const ok = await runNode([script], {
        SERVICE: 'orders',
        ORDERS_HTTP_PORT: portOfServer(server),
      });
      expect(ok).toEqual({ code: 0, output: '' });
      const alsoOk = await runNode([script], {
        SERVICE: 'payments',
        PAYMENTS_HTTP_PORT: portOfServer(server),
      });
      expect(alsoOk.code).toBe(0);
    } finally {
      server.close();
    }
  });

  it('is unhealthy on a 503, on no server, and on an unknown SERVICE', async () => {
    const server = await listen(503);
    const port = portOfServer(server);
    try {
      const failing = await runNode([script], { SERVICE: 'orders', ORDERS_HTTP_PORT: port });
      expect(failing.code).toBe(1);
      expect(failing.output).toContain('answered 503');
    } finally {
      server.close();
      await once(server, 'close');
    }
    const down = await runNode([script], { SERVICE: 'payments', PAYMENTS_HTTP_PORT: port });
    expect(down.code).toBe(1);
    const unknown = await runNode([script], { SERVICE: 'nope' });
    expect(unknown.code).toBe(1);
    expect(unknown.output).toContain('SERVICE must be one of');
  });

  it('counts any answer from the stand-in, which has no health route', async () => {
    const server = await listen(200); // answers 404 on /
    try {
      const result = await runNode([script], {
        SERVICE: 'stripe-stand-in',
        STRIPE_STAND_IN_PORT: portOfServer(server),
      });
      expect(result.code).toBe(0);
    } finally {
      server.close();
    }
  });
});

// ---- external validators: run where installed (CI can install them), skipped by name otherwise ----

const composeCli = runs('docker', 'compose', 'version')
  ? ['docker', 'compose']
  : runs('docker-compose', 'version')
    ? ['docker-compose']
    : undefined;
const promtool = runs('promtool', '--version');
const otelcol = runs('otelcol-contrib', '--version');

describe('external validators', () => {
  (composeCli ? it : it.skip)(
    `${composeCli ? composeCli.join(' ') : 'docker compose'} config accepts docker-compose.yml${composeCli ? '' : ' (neither docker compose nor docker-compose installed: skipped)'}`,
    async () => {
      const cli = composeCli!;
      const run = (env: Record<string, string>, options: string[] = []) =>
        spawnSync(
          cli[0],
          [
            ...cli.slice(1),
            ...options,
            '--profile',
            'offline',
            '-f',
            'docker-compose.yml',
            'config',
            '-q',
          ],
          {
            cwd: ROOT,
            env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
            encoding: 'utf8',
          },
        );
      const ok = run(SECRETS);
      expect({ status: ok.status, stderr: ok.stderr }).toEqual({ status: 0, stderr: '' });
      // The offline profile with nothing but the file `npm run -s dev:keys` writes.
      const root = mkdtempSync(join(tmpdir(), 'dev-keys-'));
      try {
        await writeDevKeys(root);
        const offline = run({}, ['--env-file', join(root, COMPOSE_ENV_FILE)]);
        expect({ status: offline.status, stderr: offline.stderr }).toEqual({
          status: 0,
          stderr: '',
        });
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
      const missing = run({
        STRIPE_SECRET_KEY: 'sk_test_x',
        STRIPE_WEBHOOK_SECRET: 'whsec_x',
        PAYMENTS_GRPC_TOKEN: SECRETS.PAYMENTS_GRPC_TOKEN,
        ORDERS_GRPC_TOKEN: SECRETS.ORDERS_GRPC_TOKEN,
      });
      expect(missing.status).not.toBe(0);
      expect(missing.stderr).toMatch(/set JWT_(ISSUER|AUDIENCE)/);
    },
  );

  (promtool ? it : it.skip)(
    `promtool check config accepts deploy/prometheus/prometheus.yml${promtool ? '' : ' (promtool not installed: skipped)'}`,
    () => {
      const result = spawnSync(
        'promtool',
        ['check', 'config', 'deploy/prometheus/prometheus.yml'],
        {
          cwd: ROOT,
          encoding: 'utf8',
        },
      );
      expect({ status: result.status, output: result.stdout + result.stderr }).toMatchObject({
        status: 0,
      });
    },
  );

  (otelcol ? it : it.skip)(
    `otelcol-contrib validate accepts otel-collector-config.yaml${otelcol ? '' : ' (otelcol-contrib not installed: skipped)'}`,
    () => {
      const result = spawnSync(
        'otelcol-contrib',
        ['validate', '--config=otel-collector-config.yaml'],
        {
          cwd: ROOT,
          encoding: 'utf8',
        },
      );
      expect({ status: result.status, output: result.stdout + result.stderr }).toMatchObject({
        status: 0,
      });
    },
  );
});
