import { CreateOrders1763777100000 } from './1763777100000-CreateOrders.js';
import { CreateIdempotencyKeys1763777300000 } from './1763777300000-CreateIdempotencyKeys.js';
import { AddOrderPaymentDetails1763777500000 } from './1763777500000-AddOrderPaymentDetails.js';
import { CreateOrderStatusHistory1763777510000 } from './1763777510000-CreateOrderStatusHistory.js';
import { AddOrderReconciliation1763777520000 } from './1763777520000-AddOrderReconciliation.js';
import { AddAdminStatusSource1763777530000 } from './1763777530000-AddAdminStatusSource.js';
import { AddPendingOrderReconciliationIndex1763777960000 } from './1763777960000-AddPendingOrderReconciliationIndex.js';

/** Every migration, oldest first. */
export const migrations = [
  CreateOrders1763777100000,
  CreateIdempotencyKeys1763777300000,
  AddOrderPaymentDetails1763777500000,
  CreateOrderStatusHistory1763777510000,
  AddOrderReconciliation1763777520000,
  AddAdminStatusSource1763777530000,
  AddPendingOrderReconciliationIndex1763777960000,
];
