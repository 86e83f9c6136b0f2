import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { ConfigError } from '#common/config/config.js';
import { isUuid } from '#common/uuid.js';
import { loadPaymentsConfig } from '../../apps/payments/src/config.js';
import { databaseOptions } from '../../apps/payments/src/database/database.options.js';
import {
  OutboxRepository,
  type ParkedNotification,
} from '../../apps/payments/src/outbox/outbox.repository.js';

const USAGE =
  'Usage: npm run outbox:replay -- <payment-id> | --all | --list\n' +
  '  Re-queues the payment notifications the outbox parked after orders refused them (for one\n' +
  '  payment, or all of them), as new: the running payments instances deliver them within a\n' +
  '  poll interval. --list shows the parked ones and why, changing nothing. Reads the payments\n' +
  '  configuration (PAYMENTS_DATABASE_URL, ...) like the service, from the environment or .env.\n' +
  '  Exit codes: 0 done, 1 failed or nothing parked for that payment, 2 usage, 78 configuration.';

type Command = { list: true } | { list: false; paymentId?: string };

function command(): Command | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      options: { all: { type: 'boolean' }, list: { type: 'boolean' } },
      allowPositionals: true,
    });
  } catch {
    return undefined;
  }
  const { values, positionals } = parsed;
  const [paymentId] = positionals;
  const chosen = [values.all, values.list, paymentId !== undefined].filter(Boolean).length;
  if (chosen !== 1 || positionals.length > 1) return undefined;
  if (values.list) return { list: true };
  if (values.all) return { list: false };
  return isUuid(paymentId) ? { list: false, paymentId } : undefined;
}

const describe = (n: ParkedNotification) =>
  `  payment ${n.paymentId} version ${n.paymentVersion} (order ${n.orderId}), parked ` +
  `${n.parkedAt.toISOString()}: ${n.reason ?? 'no reason recorded'}`;

const chosen = command();
if (!chosen) {
  console.error(USAGE);
  process.exit(2);
}

let config;
try {
  config = loadPaymentsConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`outbox:replay: ${error.message}`);
  process.exit(78);
}

// The deploy's migration job owns the schema: this command never migrates.
const db = new DataSource({
  ...databaseOptions({ url: config.database.url, poolSize: 1 }),
  migrationsRun: false,
});
let code = 0;
try {
  await db.initialize();
  const outbox = new OutboxRepository(db);
  if (chosen.list) {
    const parked = await outbox.parked();
    console.log(`${parked.length} parked notification(s)${parked.length ? ':' : '.'}`);
    for (const notification of parked) console.log(describe(notification));
  } else {
    const replayed = await outbox.replay(chosen.paymentId);
    if (replayed.length === 0) {
      console.log(
        chosen.paymentId
          ? `No parked notification for payment ${chosen.paymentId}.`
          : 'No parked notifications.',
      );
      // Naming a payment means expecting something parked: a typo must not look like success.
      if (chosen.paymentId) code = 1;
    } else {
      console.log(`Re-queued ${replayed.length} notification(s), due now:`);
      for (const notification of replayed) console.log(describe(notification));
    }
  }
} catch (error) {
  console.error(`outbox:replay failed: ${(error as Error).message}`);
  code = 1;
} finally {
  if (db.isInitialized) await db.destroy();
}
process.exit(code);
