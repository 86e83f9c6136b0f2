import { CreatePayments1763777000000 } from './1763777000000-CreatePayments.js';
import { AddPaymentIdempotencyKey1763777400000 } from './1763777400000-AddPaymentIdempotencyKey.js';
import { PaymentLifecycle1763777500000 } from './1763777500000-PaymentLifecycle.js';
import { AddTraceContext1763777600000 } from './1763777600000-AddTraceContext.js';
import { ParkOutboxNotifications1763777930000 } from './1763777930000-ParkOutboxNotifications.js';

/** Every migration, oldest first. */
export const migrations = [
  CreatePayments1763777000000,
  AddPaymentIdempotencyKey1763777400000,
  PaymentLifecycle1763777500000,
  AddTraceContext1763777600000,
  ParkOutboxNotifications1763777930000,
];
