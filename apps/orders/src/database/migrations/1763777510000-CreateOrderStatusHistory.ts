import type { MigrationInterface, QueryRunner } from 'typeorm';

const STATUSES = `'pending_payment', 'awaiting_payment', 'paid', 'payment_failed', 'canceled',
  'partially_refunded', 'refunded', 'disputed'`;

export class CreateOrderStatusHistory1763777510000 implements MigrationInterface {
  name = 'CreateOrderStatusHistory1763777510000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE order_status_history (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
        from_status text NOT NULL CHECK (from_status IN (${STATUSES})),
        to_status text NOT NULL CHECK (to_status IN (${STATUSES})),
        payment_version bigint,
        source text NOT NULL CHECK (source IN ('payment_update', 'reconciliation', 'customer')),
        created_at timestamptz NOT NULL,
        CHECK (from_status <> to_status)
      )`);
    await queryRunner.query(
      'CREATE INDEX order_status_history_order_idx ON order_status_history (order_id, id)',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE order_status_history');
  }
}
