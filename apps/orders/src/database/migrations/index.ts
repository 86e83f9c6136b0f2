import { CreateOrders1763777100000 } from './1763777100000-CreateOrders.js';
import { CreateIdempotencyKeys1763777300000 } from './1763777300000-CreateIdempotencyKeys.js';

/** Every migration, oldest first. */
export const migrations = [CreateOrders1763777100000, CreateIdempotencyKeys1763777300000];
