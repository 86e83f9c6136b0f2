import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DEFAULT_PORTS } from '#common/config/defaults.js';
import { DEV_TOKEN_AUDIENCE, DEV_TOKEN_ISSUER } from './token.js';

/**
 * Throwaway secrets for the local deployments (compose's offline profile, the Kubernetes dev
 * overlay), so that neither needs a value typed by hand. Every value is random per run; none is
 * ever valid anywhere else.
 */
export interface DevSecrets {
  postgresPassword: string;
  /** orders' credential at payments' gRPC API, and payments' at orders'. */
  ordersToPaymentsToken: string;
  paymentsToOrdersToken: string;
  internalApiKey: string;
  stripeSecretKey: string;
  stripeWebhookSecret: string;
  /** An ES256 pair: orders verifies with the public key, `npm run dev:token` signs with the private. */
  jwtPublicKey: string;
  jwtPrivateKey: string;
}

const random = (bytes: number) => randomBytes(bytes).toString('hex');

export function generateDevSecrets(): DevSecrets {
  const { publicKey, privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    postgresPassword: random(16),
    ordersToPaymentsToken: random(24),
    paymentsToOrdersToken: random(24),
    internalApiKey: random(24),
    stripeSecretKey: `sk_test_${random(16)}`,
    stripeWebhookSecret: `whsec_${random(16)}`,
    jwtPublicKey: publicKey,
    jwtPrivateKey: privateKey,
  };
}

/** Files written together: one set is either kept whole or replaced whole, never mixed. */
export interface DevKeySet {
  name: string;
  /** Paths relative to the repository root, and their content. */
  files: Record<string, string>;
}

export const COMPOSE_ENV_FILE = 'deploy/compose.offline.env';
export const K8S_DEV_SECRETS_DIR = 'deploy/k8s/overlays/dev/secrets';

/** A PEM on one line, `\n` escaped, single-quoted: how .env parsers (compose, node) keep it raw. */
const oneLine = (pem: string) => `'${pem.trim().replaceAll('\n', '\\n')}'`;

const GENERATED =
  'Written by `npm run -s dev:keys`: throwaway development values, never for production.';

/**
 * compose's offline profile: `docker compose --env-file deploy/compose.offline.env --profile offline up`.
 * JWT_PRIVATE_KEY is for `npm run dev:token` (compose passes it to no container).
 */
export function composeKeySet(secrets: DevSecrets): DevKeySet {
  const env = [
    `# ${GENERATED}`,
    `# docker compose --env-file ${COMPOSE_ENV_FILE} --profile offline up --build`,
    `POSTGRES_PASSWORD=${secrets.postgresPassword}`,
    `JWT_ISSUER=${DEV_TOKEN_ISSUER}`,
    `JWT_AUDIENCE=${DEV_TOKEN_AUDIENCE}`,
    `JWT_PUBLIC_KEY=${oneLine(secrets.jwtPublicKey)}`,
    `JWT_PRIVATE_KEY=${oneLine(secrets.jwtPrivateKey)}`,
    `PAYMENTS_GRPC_TOKEN=${secrets.ordersToPaymentsToken}`,
    `ORDERS_GRPC_TOKEN=${secrets.paymentsToOrdersToken}`,
    `STRIPE_SECRET_KEY=${secrets.stripeSecretKey}`,
    `STRIPE_WEBHOOK_SECRET=${secrets.stripeWebhookSecret}`,
    `STRIPE_API_URL=http://stripe-stand-in:${DEFAULT_PORTS.stripeStandIn}`,
    'STRIPE_ALLOW_INSECURE_API_URL=true',
  ];
  return { name: 'compose offline profile', files: { [COMPOSE_ENV_FILE]: env.join('\n') + '\n' } };
}

/** The Kubernetes dev overlay's secretGenerator inputs (deploy/k8s/overlays/dev). */
export function k8sDevKeySet(secrets: DevSecrets, namespace = 'shop'): DevKeySet {
  const host = (service: string) => `${service}.${namespace}.svc.cluster.local`;
  const database = (name: string) =>
    `postgres://postgres:${secrets.postgresPassword}@${host('postgres')}:5432/${name}`;
  const redis = `redis://${host('redis')}:6379`;
  const envFile = (lines: string[]) => [`# ${GENERATED}`, ...lines].join('\n') + '\n';
  const file = (name: string) => `${K8S_DEV_SECRETS_DIR}/${name}`;
  return {
    name: 'Kubernetes dev overlay',
    files: {
      [file('orders.env')]: envFile([
        `ORDERS_DATABASE_URL=${database('orders')}`,
        `REDIS_URL=${redis}`,
        `ORDERS_GRPC_INBOUND_TOKENS=payments=${secrets.paymentsToOrdersToken}`,
        `PAYMENTS_GRPC_TOKEN=${secrets.ordersToPaymentsToken}`,
        `INTERNAL_API_KEY=${secrets.internalApiKey}`,
      ]),
      [file('payments.env')]: envFile([
        `PAYMENTS_DATABASE_URL=${database('payments')}`,
        `REDIS_URL=${redis}`,
        `PAYMENTS_GRPC_INBOUND_TOKENS=orders=${secrets.ordersToPaymentsToken}`,
        `ORDERS_GRPC_TOKEN=${secrets.paymentsToOrdersToken}`,
        `STRIPE_SECRET_KEY=${secrets.stripeSecretKey}`,
        `STRIPE_WEBHOOK_SECRET=${secrets.stripeWebhookSecret}`,
      ]),
      [file('postgres.env')]: envFile([`POSTGRES_PASSWORD=${secrets.postgresPassword}`]),
      [file('jwt-public.pem')]: secrets.jwtPublicKey,
      [file('jwt-private.pem')]: secrets.jwtPrivateKey,
    },
  };
}

export interface DevKeysOutcome {
  written: DevKeySet[];
  /** Sets left as they were, because one of their files existed. */
  kept: DevKeySet[];
}

/**
 * Writes each set under `root` unless one of its files exists: the database volume already
 * initialised with a password, or the tokens the running pods hold, would no longer match.
 * `force` replaces them.
 */
export async function writeDevKeys(
  root: string,
  options: { force?: boolean; secrets?: DevSecrets } = {},
): Promise<DevKeysOutcome> {
  const secrets = options.secrets ?? generateDevSecrets();
  const outcome: DevKeysOutcome = { written: [], kept: [] };
  for (const set of [composeKeySet(secrets), k8sDevKeySet(secrets)]) {
    const paths = Object.keys(set.files);
    if (!options.force && paths.some((path) => existsSync(join(root, path)))) {
      outcome.kept.push(set);
      continue;
    }
    for (const [path, content] of Object.entries(set.files)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      // Owner-only: these are credentials, if throwaway ones.
      await writeFile(join(root, path), content, { mode: 0o600 });
    }
    outcome.written.push(set);
  }
  return outcome;
}
