import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Parked notifications: one orders refused permanently OUTBOX_MAX_ATTEMPTS times stops being
 * retried until an operator replays it. `refusals` counts only permanent refusals (an outage of
 * orders must not use up a notification's attempts); `parked_at` says when it stopped, and
 * `last_error` keeps why. Parked rows leave the index the relay claims from.
 */
export class ParkOutboxNotifications1763777930000 implements MigrationInterface {
  name = 'ParkOutboxNotifications1763777930000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE outbox
        ADD COLUMN refusals integer NOT NULL DEFAULT 0,
        ADD COLUMN parked_at timestamptz`);
    await queryRunner.query('DROP INDEX outbox_pending_idx');
    await queryRunner.query(`
      CREATE INDEX outbox_pending_idx ON outbox (next_attempt_at)
       WHERE delivered_at IS NULL AND parked_at IS NULL`);
    await queryRunner.query(
      'CREATE INDEX outbox_parked_idx ON outbox (payment_id) WHERE parked_at IS NOT NULL',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX outbox_parked_idx');
    await queryRunner.query('DROP INDEX outbox_pending_idx');
    await queryRunner.query(
      'CREATE INDEX outbox_pending_idx ON outbox (next_attempt_at) WHERE delivered_at IS NULL',
    );
    await queryRunner.query('ALTER TABLE outbox DROP COLUMN parked_at, DROP COLUMN refusals');
  }
}
