import type { MigrationInterface, QueryRunner } from 'typeorm';

/** An admin acting on a customer's order (a refund) is recorded as such, not as the customer. */
export class AddAdminStatusSource1763777530000 implements MigrationInterface {
  name = 'AddAdminStatusSource1763777530000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE order_status_history
        DROP CONSTRAINT order_status_history_source_check,
        ADD CONSTRAINT order_status_history_source_check
          CHECK (source IN ('payment_update', 'reconciliation', 'customer', 'admin'))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE order_status_history
        DROP CONSTRAINT order_status_history_source_check,
        ADD CONSTRAINT order_status_history_source_check
          CHECK (source IN ('payment_update', 'reconciliation', 'customer'))`);
  }
}
