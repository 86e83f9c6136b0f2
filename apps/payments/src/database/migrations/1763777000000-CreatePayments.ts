import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreatePayments1763777000000 implements MigrationInterface {
  name = 'CreatePayments1763777000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE payments (
        id uuid PRIMARY KEY,
        order_id uuid NOT NULL,
        customer_id text NOT NULL,
        amount bigint NOT NULL CHECK (amount > 0),
        currency char(3) NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
        status text NOT NULL CHECK (status IN (
          'creating', 'requires_payment_method', 'requires_confirmation', 'requires_action',
          'processing', 'requires_capture', 'canceled', 'succeeded')),
        provider_payment_id text,
        client_secret text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        CONSTRAINT payments_order_id_key UNIQUE (order_id),
        CONSTRAINT payments_provider_payment_id_key UNIQUE (provider_payment_id)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE payments');
  }
}
