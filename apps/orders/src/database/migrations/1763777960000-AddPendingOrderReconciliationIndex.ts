import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reconciliation also claims orders left `pending_payment` (a checkout cut off before attaching
 * its payment): only those rows are in the index, and any moment holds few of them.
 */
export class AddPendingOrderReconciliationIndex1763777960000 implements MigrationInterface {
  name = 'AddPendingOrderReconciliationIndex1763777960000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE INDEX orders_pending_reconcile_idx ON orders (created_at)
        WHERE status = 'pending_payment' AND payment_id IS NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX orders_pending_reconcile_idx');
  }
}
