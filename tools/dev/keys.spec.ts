import { afterEach, describe, expect, it } from '@jest/globals';
import type { FastifyRequest } from 'fastify';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { Authenticator } from '../../apps/orders/src/auth/authenticator.js';
import { loadOrdersConfig } from '../../apps/orders/src/config.js';
import { COMPOSE_ENV_FILE, K8S_DEV_SECRETS_DIR, writeDevKeys } from './keys.js';
import { signDevToken } from './token.js';

const roots: string[] = [];
const newRoot = () => {
  const root = mkdtempSync(join(tmpdir(), 'dev-keys-spec-'));
  roots.push(root);
  return root;
};
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

const envFile = (root: string, path: string) =>
  parseEnv(readFileSync(join(root, path), 'utf8')) as Record<string, string>;

describe(writeDevKeys.name, () => {
  it('writes owner-only files whose tokens and passwords agree across each set', async () => {
    const root = newRoot();
    const outcome = await writeDevKeys(root);
    expect(outcome.kept).toEqual([]);
    expect(outcome.written).toHaveLength(2);

    const compose = envFile(root, COMPOSE_ENV_FILE);
    const orders = envFile(root, `${K8S_DEV_SECRETS_DIR}/orders.env`);
    const payments = envFile(root, `${K8S_DEV_SECRETS_DIR}/payments.env`);
    const postgres = envFile(root, `${K8S_DEV_SECRETS_DIR}/postgres.env`);
    // Each service accepts the token the other presents.
    expect(orders.ORDERS_GRPC_INBOUND_TOKENS).toBe(`payments=${payments.ORDERS_GRPC_TOKEN}`);
    expect(payments.PAYMENTS_GRPC_INBOUND_TOKENS).toBe(`orders=${orders.PAYMENTS_GRPC_TOKEN}`);
    expect(new URL(orders.ORDERS_DATABASE_URL).password).toBe(postgres.POSTGRES_PASSWORD);
    expect(new URL(payments.PAYMENTS_DATABASE_URL).password).toBe(postgres.POSTGRES_PASSWORD);
    // The one-line PEMs of the env file are the key pair of the PEM files.
    const pem = (name: string) => readFileSync(join(root, K8S_DEV_SECRETS_DIR, name), 'utf8');
    expect(compose.JWT_PUBLIC_KEY.replaceAll('\\n', '\n')).toBe(pem('jwt-public.pem').trim());
    expect(compose.JWT_PRIVATE_KEY.replaceAll('\\n', '\n')).toBe(pem('jwt-private.pem').trim());

    for (const set of outcome.written) {
      for (const path of Object.keys(set.files)) {
        expect({ path, mode: statSync(join(root, path)).mode & 0o777 }).toEqual({
          path,
          mode: 0o600,
        });
      }
    }
  });

  it('keeps a set whose files exist (a database volume holds its password); --force replaces it', async () => {
    const root = newRoot();
    await writeDevKeys(root);
    const before = readFileSync(join(root, COMPOSE_ENV_FILE), 'utf8');
    // One file of the Kubernetes set gone: the set is written whole again, never mixed.
    rmSync(join(root, K8S_DEV_SECRETS_DIR), { recursive: true });

    const again = await writeDevKeys(root);
    expect(again.kept.map((set) => set.name)).toEqual(['compose offline profile']);
    expect(again.written.map((set) => set.name)).toEqual(['Kubernetes dev overlay']);
    expect(readFileSync(join(root, COMPOSE_ENV_FILE), 'utf8')).toBe(before);

    const forced = await writeDevKeys(root, { force: true });
    expect(forced.kept).toEqual([]);
    expect(readFileSync(join(root, COMPOSE_ENV_FILE), 'utf8')).not.toBe(before);
  });

  it('makes a key pair with which dev:token signs tokens production orders accepts', async () => {
    const root = newRoot();
    await writeDevKeys(root);
    const compose = envFile(root, COMPOSE_ENV_FILE);
    const orders = new Authenticator(
      loadOrdersConfig({
        NODE_ENV: 'production',
        ORDERS_DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused',
        ORDERS_GRPC_INBOUND_TOKENS: `payments=${compose.ORDERS_GRPC_TOKEN}`,
        PAYMENTS_GRPC_TOKEN: compose.PAYMENTS_GRPC_TOKEN,
        JWT_PUBLIC_KEY: compose.JWT_PUBLIC_KEY,
        JWT_ISSUER: compose.JWT_ISSUER,
        JWT_AUDIENCE: compose.JWT_AUDIENCE,
      }),
    );
    const token = await signDevToken('alice', {
      privateKey: compose.JWT_PRIVATE_KEY,
      issuer: compose.JWT_ISSUER,
      audience: compose.JWT_AUDIENCE,
    });
    const request = {
      headers: { authorization: `Bearer ${token}` },
      raw: { rawHeaders: ['Authorization', `Bearer ${token}`] },
    } as unknown as FastifyRequest;
    expect(await orders.principalOf(request)).toEqual({ subject: 'alice', roles: ['customer'] });
  });
});
