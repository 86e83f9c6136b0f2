/**
 * `.env.example` is the one list of the services' configuration: every variable orders' and
 * payments' config schemas read is in it, nothing else is (but the standard and tooling variables
 * named below), every value it writes is the schema's default, and every variable comes with a
 * comment. The defaults are compared through the services' own loaders, in development and in
 * production: a value written in the file must load exactly what leaving it unset loads.
 */
import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { loadOrdersConfig, ORDERS_VARIABLES } from '../apps/orders/src/config.js';
import { loadPaymentsConfig, PAYMENTS_VARIABLES } from '../apps/payments/src/config.js';
import { DEFAULT_HOST, DEFAULT_PORT } from '../tools/stripe-stand-in/server.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const EXAMPLE = readFileSync(join(ROOT, '.env.example'), 'utf8');
const example = parseEnv(EXAMPLE);

/** A production token issuer's public key, for the production environments below. */
const PUBLIC_KEY = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();
const TOKEN = (caller: string) => `${caller}-token-for-the-env-example-test-0123456789`;

/**
 * Each service's schema, and the least environments it loads with: development needs only the
 * database, production also its secrets. Payments' plain-http Stripe URL is refused in production
 * unless STRIPE_ALLOW_INSECURE_API_URL=true: that environment shows what the flag's value does.
 */
const SERVICES: Record<
  'orders' | 'payments',
  {
    variables: readonly string[];
    load: (env: NodeJS.ProcessEnv) => unknown;
    environments: Record<string, NodeJS.ProcessEnv>;
  }
> = {
  orders: {
    variables: ORDERS_VARIABLES,
    load: loadOrdersConfig,
    environments: {
      development: { ORDERS_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/orders' },
      production: {
        NODE_ENV: 'production',
        ORDERS_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/orders',
        JWT_PUBLIC_KEY: PUBLIC_KEY,
        JWT_ISSUER: 'https://issuer.example',
        JWT_AUDIENCE: 'orders',
        ORDERS_GRPC_INBOUND_TOKENS: `payments=${TOKEN('payments')}`,
        PAYMENTS_GRPC_TOKEN: TOKEN('orders'),
      },
    },
  },
  payments: {
    variables: PAYMENTS_VARIABLES,
    load: loadPaymentsConfig,
    environments: {
      development: { PAYMENTS_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/payments' },
      production: {
        NODE_ENV: 'production',
        PAYMENTS_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/payments',
        STRIPE_SECRET_KEY: 'sk_live_envexampletest',
        STRIPE_WEBHOOK_SECRET: 'whsec_envexampletest',
        PAYMENTS_GRPC_INBOUND_TOKENS: `orders=${TOKEN('orders')}`,
        ORDERS_GRPC_TOKEN: TOKEN('payments'),
      },
      'production, Stripe over plain HTTP: refused': {
        NODE_ENV: 'production',
        PAYMENTS_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/payments',
        STRIPE_SECRET_KEY: 'sk_live_envexampletest',
        STRIPE_WEBHOOK_SECRET: 'whsec_envexampletest',
        STRIPE_API_URL: 'http://stripe.internal:12111',
        PAYMENTS_GRPC_INBOUND_TOKENS: `orders=${TOKEN('orders')}`,
        ORDERS_GRPC_TOKEN: TOKEN('payments'),
      },
    },
  },
};

const CASES = Object.entries(SERVICES).flatMap(([service, { variables, load, environments }]) =>
  Object.entries(environments).map(
    ([mode, base]) => [service, mode, { variables, load, base }] as const,
  ),
);

/**
 * Variables outside the schemas that .env.example may name: OpenTelemetry's own (the SDK reads
 * them), the telemetry's service.version, and those of the local tools, with their defaults where
 * the tool exports them.
 */
const isOtelVariable = (name: string) => /^OTEL_[A-Z0-9_]+$/.test(name);
const OUTSIDE_SCHEMAS: Record<string, { default?: string }> = {
  SERVICE_VERSION: {},
  PROTO_DIR: {},
  DEV_POSTGRES_PORT: {},
  STRIPE_STAND_IN_HOST: { default: DEFAULT_HOST },
  STRIPE_STAND_IN_PORT: { default: String(DEFAULT_PORT) },
  STRIPE_STAND_IN_API_KEY: {},
  STRIPE_STAND_IN_WEBHOOK_EVENTS: {},
  JWT_PRIVATE_KEY: {},
};

const schemaVariables = new Set([...ORDERS_VARIABLES, ...PAYMENTS_VARIABLES]);

/** What a service makes of an environment: its configuration as plain data, or its refusal. */
function outcome(load: (env: NodeJS.ProcessEnv) => unknown, env: NodeJS.ProcessEnv): string {
  try {
    return JSON.stringify(load(env)); // URLs as their text: every value compared
  } catch (error) {
    return `refused: ${(error as Error).message}`;
  }
}

/** The TypeScript sources of the services, libraries and tools, tests left out. */
function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /(?<!\.spec)\.ts$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('.env.example', () => {
  it('names every variable the config schemas read', () => {
    expect([...schemaVariables].filter((name) => !(name in example))).toEqual([]);
  });

  it('names no variable nothing reads', () => {
    const unknown = Object.keys(example).filter(
      (name) => !schemaVariables.has(name) && !isOtelVariable(name) && !(name in OUTSIDE_SCHEMAS),
    );
    expect(unknown).toEqual([]);

    // The tooling list stays true: each of its variables is read somewhere in the sources.
    const sources = ['apps', 'libs', 'tools']
      .flatMap(sourceFiles)
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const unread = Object.keys(OUTSIDE_SCHEMAS).filter(
      (name) => !new RegExp(`['"\`.]${name}\\b`).test(sources),
    );
    expect(unread).toEqual([]);
  });

  it.each(CASES)(
    "writes %s's defaults (%s): each value loads what leaving it unset loads",
    (_service, mode, { variables, load, base }) => {
      const unset = outcome(load, { ...base });
      expect(unset.startsWith('refused')).toBe(mode.endsWith('refused'));
      const differing = variables
        .filter((name) => (example[name] ?? '') !== '' && !(name in base))
        .filter((name) => outcome(load, { ...base, [name]: example[name] }) !== unset)
        .map((name) => `${name}=${example[name]}`);
      expect(differing).toEqual([]);

      // And the whole file, copied to .env, loads the defaults too.
      const own = Object.fromEntries(variables.map((name) => [name, example[name]]));
      expect(outcome(load, { ...own, ...base })).toBe(unset);
    },
  );

  it("writes the tools' exported defaults", () => {
    for (const [name, { default: fallback }] of Object.entries(OUTSIDE_SCHEMAS)) {
      if (fallback === undefined) continue;
      expect({ name, value: example[name] }).toEqual({ name, value: fallback });
    }
  });

  it('explains every variable in a comment above it', () => {
    const uncommented: string[] = [];
    let explained = false;
    for (const line of EXAMPLE.split('\n')) {
      if (line.trim() === '' || line.startsWith('# ----')) explained = false;
      else if (line.startsWith('#')) explained = true;
      else if (!explained) uncommented.push(line.slice(0, line.indexOf('=')));
    }
    expect(uncommented).toEqual([]);
  });
});
