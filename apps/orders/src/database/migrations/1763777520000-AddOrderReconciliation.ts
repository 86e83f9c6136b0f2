import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bookkeeping for the periodic check of unpaid orders against payments: when an order may be
 * checked next, and how many checks in a row found nothing new (the delay doubles with each).
 */
export class AddOrderReconciliation1763777520000 implements MigrationInterface {
  name = 'AddOrderReconciliation1763777520000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE orders
        ADD COLUMN reconcile_after timestamptz,
        ADD COLUMN reconcile_attempts integer NOT NULL DEFAULT 0 CHECK (reconcile_attempts >= 0)`);
    // Only unpaid orders with a payment are ever candidates; the index stays small.
    await queryRunner.query(`
      CREATE INDEX orders_reconcile_idx ON orders (updated_at)
        WHERE status IN ('awaiting_payment', 'payment_failed') AND payment_id IS NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX orders_reconcile_idx');
    await queryRunner.query(
      'ALTER TABLE orders DROP COLUMN reconcile_attempts, DROP COLUMN reconcile_after',
    );
  }
}
