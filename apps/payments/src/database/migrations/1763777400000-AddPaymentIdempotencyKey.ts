import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AddPaymentIdempotencyKey1763777400000 implements MigrationInterface {
  name = 'AddPaymentIdempotencyKey1763777400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE payments
        ADD COLUMN create_idempotency_key text,
        ADD CONSTRAINT payments_create_idempotency_key_key UNIQUE (create_idempotency_key)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE payments DROP COLUMN create_idempotency_key');
  }
}
