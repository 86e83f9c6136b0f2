import { serviceDatabase } from '#common/db/service-database.js';
import { Payment } from '../payments/payment.entity.js';
import { Refund } from '../refunds/refund.entity.js';
import { migrations } from './migrations/index.js';

const paymentsDatabase = serviceDatabase({
  service: 'payments',
  entities: [Payment, Refund],
  migrations,
  // "pay" in ASCII. Fixed forever: every instance and release must take the same lock.
  lockKey: 0x706179,
});

/** The payments database's data source options. */
export const databaseOptions = paymentsDatabase.options;

/** What payments' start-up step and the migration scripts run against. */
export const migrationTarget = paymentsDatabase.migrationTarget;
