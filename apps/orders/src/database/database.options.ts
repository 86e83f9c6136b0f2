import { serviceDatabase } from '#common/db/service-database.js';
import { IdempotencyRecord } from '../idempotency/idempotency-record.entity.js';
import { OrderItem } from '../orders/order-item.entity.js';
import { Order } from '../orders/order.entity.js';
import { migrations } from './migrations/index.js';

const ordersDatabase = serviceDatabase({
  service: 'orders',
  entities: [Order, OrderItem, IdempotencyRecord],
  migrations,
  // "ord" in ASCII. Fixed forever: every instance and release must take the same lock.
  lockKey: 0x6f7264,
});

/** The orders database's data source options. */
export const databaseOptions = ordersDatabase.options;

/** What orders' start-up step and the migration scripts run against. */
export const migrationTarget = ordersDatabase.migrationTarget;
