import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Trace context kept with the data that outlives a request: the checkout that created a payment
 * (webhook traces link to it), and the change an outbox row announces (its delivery continues it).
 */
export class AddTraceContext1763777600000 implements MigrationInterface {
  name = 'AddTraceContext1763777600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE payments ADD COLUMN checkout_traceparent text');
    await queryRunner.query('ALTER TABLE outbox ADD COLUMN traceparent text');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE outbox DROP COLUMN traceparent');
    await queryRunner.query('ALTER TABLE payments DROP COLUMN checkout_traceparent');
  }
}
