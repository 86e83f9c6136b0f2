import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateOrders1763777100000 implements MigrationInterface {
  name = 'CreateOrders1763777100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE orders (
        id uuid PRIMARY KEY,
        customer_id text NOT NULL,
        status text NOT NULL CHECK (status IN (
          'pending_payment', 'awaiting_payment', 'paid', 'payment_failed', 'canceled',
          'partially_refunded', 'refunded', 'disputed')),
        currency char(3) NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
        amount bigint NOT NULL CHECK (amount > 0),
        payment_id uuid,
        payment_status text,
        payment_client_secret text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        CONSTRAINT orders_payment_id_key UNIQUE (payment_id)
      )`);
    // Serves a customer's newest-first listing and its cursor.
    await queryRunner.query(
      'CREATE INDEX orders_customer_created_idx ON orders (customer_id, created_at DESC, id DESC)',
    );
    await queryRunner.query(`
      CREATE TABLE order_items (
        order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
        position smallint NOT NULL CHECK (position >= 0),
        sku text NOT NULL,
        name text NOT NULL,
        quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
        unit_amount bigint NOT NULL CHECK (unit_amount > 0),
        PRIMARY KEY (order_id, position)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE order_items');
    await queryRunner.query('DROP TABLE orders');
  }
}
