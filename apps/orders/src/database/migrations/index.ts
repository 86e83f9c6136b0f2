import { CreateOrders1763777100000 } from './1763777100000-CreateOrders.js';

/** Every migration, oldest first. */
export const migrations = [CreateOrders1763777100000];
