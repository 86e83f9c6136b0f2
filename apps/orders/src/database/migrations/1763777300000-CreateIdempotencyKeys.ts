import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateIdempotencyKeys1763777300000 implements MigrationInterface {
  name = 'CreateIdempotencyKeys1763777300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE idempotency_keys (
        customer_id text NOT NULL,
        key text NOT NULL CHECK (key ~ '^[!-~]{1,255}$'),
        fingerprint text NOT NULL,
        state text NOT NULL CHECK (state IN ('in_flight', 'completed')),
        locked_until timestamptz,
        order_id uuid REFERENCES orders (id),
        response_status integer,
        response_headers jsonb,
        response_body text,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (customer_id, key),
        CHECK (state = 'in_flight' OR (response_status IS NOT NULL AND response_body IS NOT NULL))
      )`);
    // Serves the periodic clean-up of expired keys.
    await queryRunner.query(
      'CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at)',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE idempotency_keys');
  }
}
