import { ConfigError } from '#common/config/config.js';
import { type MigrationTarget, Migrations } from '#common/db/migrations.js';
import { loadOrdersConfig } from '../../apps/orders/src/config.js';
import { migrationTarget as ordersTarget } from '../../apps/orders/src/database/database.options.js';
import { loadPaymentsConfig } from '../../apps/payments/src/config.js';
import { migrationTarget as paymentsTarget } from '../../apps/payments/src/database/database.options.js';

const USAGE =
  'Usage: npm run migration:<show|run|revert>:<orders|payments>\n' +
  '   or: node dist/tools/migrations/main.js <orders|payments> <show|run|revert>\n' +
  "  Against the service's database, configured as the service is (its variables, .env).\n" +
  '  show: applied and pending migrations. run: applies the pending ones. revert: reverts the\n' +
  '  newest applied one. run and revert hold the advisory lock a starting instance takes.\n' +
  '  Exit codes: 0 done, 1 failed, 64 usage, 78 invalid configuration.';

// The service's own configuration, validated as at its start, so the script cannot reach a
// database the service would not.
const TARGETS: Record<string, () => MigrationTarget> = {
  orders: () => ordersTarget(loadOrdersConfig().database),
  payments: () => paymentsTarget(loadPaymentsConfig().database),
};
const COMMANDS = ['show', 'run', 'revert'];

const [service = '', command = '', ...rest] = process.argv.slice(2);
if (!(service in TARGETS) || !COMMANDS.includes(command) || rest.length > 0) {
  console.error(USAGE);
  process.exit(64);
}

let target: MigrationTarget;
try {
  target = TARGETS[service]();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`${service}: ${error.message}`);
  process.exit(78);
}

const waiting = () =>
  console.log(`${service}: another instance or job holds the migrations lock; waiting for it`);
let migrations: Migrations | undefined;
try {
  migrations = await Migrations.connect(target);
  if (command === 'show') {
    const { applied, pending } = await migrations.status();
    console.log(`${service}: ${applied.length} applied, ${pending.length} pending`);
    for (const name of applied) console.log(`  applied  ${name}`);
    for (const name of pending) console.log(`  pending  ${name}`);
  } else if (command === 'run') {
    const applied = await migrations.run(waiting);
    console.log(
      applied.length > 0
        ? `${service}: applied ${applied.join(', ')}`
        : `${service}: no migration pending`,
    );
  } else {
    const reverted = await migrations.revertLast(waiting);
    console.log(
      reverted ? `${service}: reverted ${reverted}` : `${service}: no migration to revert`,
    );
  }
} catch (error) {
  console.error(`${service}: migration ${command} failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await migrations?.close();
}
