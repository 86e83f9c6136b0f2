import type { MigrationInterface, QueryRunner } from 'typeorm';

/** What the payment lifecycle needs: payment details, refunds, received Stripe events, the outbox. */
export class PaymentLifecycle1763777500000 implements MigrationInterface {
  name = 'PaymentLifecycle1763777500000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE payments
        ADD COLUMN version bigint NOT NULL DEFAULT 1,
        ADD COLUMN amount_refunded bigint NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
        ADD COLUMN failure_code text,
        ADD COLUMN failure_message text,
        ADD COLUMN latest_charge_id text,
        ADD COLUMN receipt_url text,
        ADD COLUMN disputed boolean NOT NULL DEFAULT false,
        ADD COLUMN stripe_status_at timestamptz`);
    await queryRunner.query(`
      CREATE TABLE refunds (
        id uuid PRIMARY KEY,
        payment_id uuid NOT NULL REFERENCES payments (id),
        amount bigint NOT NULL CHECK (amount > 0),
        currency char(3) NOT NULL,
        status text NOT NULL CHECK (status IN (
          'creating', 'pending', 'requires_action', 'succeeded', 'failed', 'canceled')),
        reason text,
        provider_refund_id text,
        failure_reason text,
        idempotency_key text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        CONSTRAINT refunds_provider_refund_id_key UNIQUE (provider_refund_id),
        CONSTRAINT refunds_idempotency_key_key UNIQUE (idempotency_key)
      )`);
    await queryRunner.query('CREATE INDEX refunds_payment_id_idx ON refunds (payment_id)');
    // One row per Stripe event id: a repeated delivery finds its id here and changes nothing.
    await queryRunner.query(`
      CREATE TABLE stripe_events (
        id text PRIMARY KEY,
        type text NOT NULL,
        outcome text NOT NULL,
        payment_id uuid,
        stripe_created_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL
      )`);
    // Notifications to orders, written in the transaction of the payment change they announce.
    await queryRunner.query(`
      CREATE TABLE outbox (
        id bigserial PRIMARY KEY,
        payment_id uuid NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz,
        last_error text
      )`);
    await queryRunner.query(
      'CREATE INDEX outbox_pending_idx ON outbox (next_attempt_at) WHERE delivered_at IS NULL',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE outbox');
    await queryRunner.query('DROP TABLE stripe_events');
    await queryRunner.query('DROP TABLE refunds');
    await queryRunner.query(`
      ALTER TABLE payments DROP COLUMN version, DROP COLUMN amount_refunded,
        DROP COLUMN failure_code, DROP COLUMN failure_message, DROP COLUMN latest_charge_id,
        DROP COLUMN receipt_url, DROP COLUMN disputed, DROP COLUMN stripe_status_at`);
  }
}
