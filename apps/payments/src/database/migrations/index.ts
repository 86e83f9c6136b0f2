import { CreatePayments1763777000000 } from './1763777000000-CreatePayments.js';

/** Every migration, oldest first. */
export const migrations = [CreatePayments1763777000000];
