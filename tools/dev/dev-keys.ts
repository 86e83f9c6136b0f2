import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { COMPOSE_ENV_FILE, K8S_DEV_SECRETS_DIR, writeDevKeys } from './keys.js';

const USAGE =
  'Usage: npm run -s dev:keys [-- --force]\n' +
  '  Writes throwaway secrets (gitignored) for the local deployments:\n' +
  `    ${COMPOSE_ENV_FILE}   compose's offline profile (--env-file)\n` +
  `    ${K8S_DEV_SECRETS_DIR}/   the Kubernetes dev overlay's Secrets\n` +
  '  A set whose files exist is kept (a database volume holds its password); --force replaces it.';

let parsed;
try {
  parsed = parseArgs({ options: { force: { type: 'boolean' } } });
} catch {
  console.error(USAGE);
  process.exit(2);
}

// dist/tools/dev/ -> the repository root, wherever the command runs from.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const { written, kept } = await writeDevKeys(root, { force: parsed.values.force });
for (const set of written) {
  console.log(`${set.name}: wrote ${Object.keys(set.files).join(', ')}`);
}
for (const set of kept) {
  console.log(`${set.name}: kept (its files exist; --force replaces them)`);
}
console.log(
  [
    '',
    'compose:    docker compose --env-file deploy/compose.offline.env --profile offline up --build',
    '            token: node --env-file=deploy/compose.offline.env dist/tools/dev/dev-token.js <customer-id>',
    'Kubernetes: kubectl apply -k deploy/k8s/overlays/dev',
    `            token: JWT_PRIVATE_KEY="$(cat ${K8S_DEV_SECRETS_DIR}/jwt-private.pem)" npm run -s dev:token -- <customer-id>`,
  ].join('\n'),
);
