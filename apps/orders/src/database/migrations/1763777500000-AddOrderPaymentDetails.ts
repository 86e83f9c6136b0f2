import type { MigrationInterface, QueryRunner } from 'typeorm';

/** What orders keeps of its payment to follow it: the version last applied, refunds, disputes. */
export class AddOrderPaymentDetails1763777500000 implements MigrationInterface {
  name = 'AddOrderPaymentDetails1763777500000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // No CHECK against the order amount on amount_refunded: payments is the authority on refunds,
    // and refusing its report would only leave the order behind.
    await queryRunner.query(`
      ALTER TABLE orders
        ADD COLUMN payment_version bigint NOT NULL DEFAULT 0 CHECK (payment_version >= 0),
        ADD COLUMN amount_refunded bigint NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
        ADD COLUMN payment_disputed boolean NOT NULL DEFAULT false,
        ADD COLUMN payment_failure_code text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE orders
        DROP COLUMN payment_failure_code,
        DROP COLUMN payment_disputed,
        DROP COLUMN amount_refunded,
        DROP COLUMN payment_version`);
  }
}
