import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { bigintToNumber, type PreparedStatement, queryPrepared } from '#common/db/typeorm.js';
import type { CurrencyCode } from '#common/money.js';
import type { OrderCursor } from './order-cursor.js';
import { OrderItem } from './order-item.entity.js';
import type { OrderStatus, StatusChangeSource } from './order-status.js';
import { Order } from './order.entity.js';
import type { KeyRef } from '../idempotency/idempotency.repository.js';
import type { OrderScope } from '../auth/principal.js';

/** The order as its row lock shows it: what a change is decided on. */
export interface LockedOrder {
  id: string;
  status: OrderStatus;
  amount: number;
  paymentId: string | null;
  paymentVersion: bigint;
}

export type OrderFields = Partial<
  Pick<
    Order,
    | 'paymentId'
    | 'paymentStatus'
    | 'paymentClientSecret'
    | 'paymentVersion'
    | 'amountRefunded'
    | 'paymentDisputed'
    | 'paymentFailureCode'
    | 'reconcileAfter'
    | 'reconcileAttempts'
  >
>;

/** A change to one order; a new status is recorded in its history. */
export interface OrderChange {
  /** The status after the change: the current one when only fields change. */
  status: OrderStatus;
  fields?: OrderFields;
  source: StatusChangeSource;
  at: Date;
}

/** An order claimed for a check against payments. */
export interface ReconcileCandidate {
  orderId: string;
  paymentId: string;
}

/** The column of each field a change may set (these names are never taken from input). */
const FIELD_COLUMNS: Record<keyof OrderFields, string> = {
  paymentId: 'payment_id',
  paymentStatus: 'payment_status',
  paymentClientSecret: 'payment_client_secret',
  paymentVersion: 'payment_version',
  amountRefunded: 'amount_refunded',
  paymentDisputed: 'payment_disputed',
  paymentFailureCode: 'payment_failure_code',
  reconcileAfter: 'reconcile_after',
  reconcileAttempts: 'reconcile_attempts',
};

const ORDER_COLUMNS = `id, customer_id, status, currency, amount, payment_id, payment_status,
  payment_client_secret, payment_version, amount_refunded, payment_disputed, payment_failure_code,
  reconcile_after, reconcile_attempts, created_at, updated_at`;

/**
 * Orders with their items (in their positions), each order in one row of one query, mapped by
 * hand: these reads are the hottest path of the API, and TypeORM's query builder and entity hydration cost
 * more CPU than the query itself. The columns are named: a prepared statement's result type is
 * fixed, and a column added by a later migration must not break connections that prepared it.
 */
const selectOrder = (where: string) => `
  SELECT ${ORDER_COLUMNS.replaceAll(/\b(\w+)\b/g, 'o.$1')},
         COALESCE((SELECT json_agg(json_build_object(
                                 'position', i.position, 'sku', i.sku, 'name', i.name,
                                 'quantity', i.quantity, 'unitAmount', i.unit_amount::text)
                               ORDER BY i.position)
                          FROM order_items i WHERE i.order_id = o.id), '[]') AS items
    FROM orders o WHERE ${where}`;

/**
 * The history row of the status change made by the statement's `changed` CTE, which returns the
 * order's id, new status and updated_at: the one place a status change is recorded.
 */
const recordStatusChange = (from: string, paymentVersion: string, source: string) => `
  INSERT INTO order_status_history
    (order_id, from_status, to_status, payment_version, source, created_at)
  SELECT id, ${from}, status, ${paymentVersion}, ${source}, updated_at FROM changed`;

/**
 * Checkout's statements, prepared once per connection (see queryPrepared). Exported for
 * bench/reference, which runs them as they are.
 */
export const INSERT_ORDER: PreparedStatement = {
  name: 'order-insert',
  text: `WITH new_order AS (
         INSERT INTO orders (id, customer_id, status, currency, amount, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING id),
       new_items AS (
         INSERT INTO order_items (order_id, position, sku, name, quantity, unit_amount)
         SELECT new_order.id, item.*
           FROM new_order,
                unnest($8::smallint[], $9::text[], $10::text[], $11::integer[], $12::bigint[])
                  AS item (position, sku, name, quantity, unit_amount))
       UPDATE idempotency_keys SET order_id = (SELECT id FROM new_order)
        WHERE customer_id = $13 AND key = $14`,
};

export const ATTACH_PAYMENT: PreparedStatement = {
  name: 'order-attach-payment',
  text: `WITH changed AS (
         UPDATE orders
            SET status = 'awaiting_payment', payment_id = $2, payment_status = $3,
                payment_client_secret = $4, payment_version = $5, updated_at = $6
          WHERE id = $1 AND status = 'pending_payment' AND payment_id IS NULL
          RETURNING id, status, updated_at)
       ${recordStatusChange(`'pending_payment'`, '$5', '$7')}
       RETURNING order_id`,
};

/** The whole order, items included, under its row lock: what a change is decided on and returns. */
const LOCK_ORDER: PreparedStatement = {
  name: 'order-lock-with-items',
  text: `${selectOrder('o.id = $1')} FOR UPDATE OF o`,
};

const ORDER_BY_ID: PreparedStatement = { name: 'order-by-id', text: selectOrder('o.id = $1') };
const ORDER_FOR_CUSTOMER: PreparedStatement = {
  name: 'order-for-customer',
  text: selectOrder('o.id = $1 AND o.customer_id = $2'),
};

/** A customer's orders newest first, in the order of orders_customer_created_idx. */
const NEWEST_FIRST = 'ORDER BY o.created_at DESC, o.id DESC LIMIT $2';
const ORDERS_PAGE: PreparedStatement = {
  name: 'orders-page',
  text: `${selectOrder('o.customer_id = $1')} ${NEWEST_FIRST}`,
};
/** The page strictly after the cursor ($3, $4): keyset pagination, stable under new orders. */
const ORDERS_PAGE_AFTER: PreparedStatement = {
  name: 'orders-page-after',
  text: `${selectOrder('o.customer_id = $1 AND (o.created_at, o.id) < ($3, $4)')} ${NEWEST_FIRST}`,
};

/** A row of `selectOrder`: bigints as text (pg's default), items as JSON. */
interface OrderRow {
  id: string;
  customer_id: string;
  status: OrderStatus;
  currency: CurrencyCode;
  amount: string;
  payment_id: string | null;
  payment_status: string | null;
  payment_client_secret: string | null;
  payment_version: string;
  amount_refunded: string;
  payment_disputed: boolean;
  payment_failure_code: string | null;
  reconcile_after: Date | null;
  reconcile_attempts: number;
  created_at: Date;
  updated_at: Date;
  items: { position: number; sku: string; name: string; quantity: number; unitAmount: string }[];
}

function orderFromRow(row: OrderRow): Order {
  return Object.assign(new Order(), {
    id: row.id,
    customerId: row.customer_id,
    status: row.status,
    currency: row.currency,
    amount: bigintToNumber(row.amount),
    items: row.items.map((item) =>
      Object.assign(new OrderItem(), {
        orderId: row.id,
        position: item.position,
        sku: item.sku,
        name: item.name,
        quantity: item.quantity,
        unitAmount: bigintToNumber(item.unitAmount),
      }),
    ),
    paymentId: row.payment_id,
    paymentStatus: row.payment_status,
    paymentClientSecret: row.payment_client_secret,
    paymentVersion: row.payment_version,
    amountRefunded: bigintToNumber(row.amount_refunded),
    paymentDisputed: row.payment_disputed,
    paymentFailureCode: row.payment_failure_code,
    reconcileAfter: row.reconcile_after,
    reconcileAttempts: row.reconcile_attempts,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
}

/** The reconciliation delay doubles with each check that finds nothing, up to 2^6 times. */
const MAX_BACKOFF_DOUBLINGS = 6;

/**
 * Claims up to $1 orders that `candidates` selects and that have been quiet for $2 ms since their
 * `quietSince` column, oldest first, for a check against payments. One statement, so the claim is
 * its own short transaction: SKIP LOCKED lets instances claiming at the same time take disjoint
 * rows, and pushing `reconcile_after` into the future (by $2 ms, doubled per earlier claim up to
 * $3 times) keeps the next claims, here or on another instance, off them while they are checked.
 */
const claimForCheck = (candidates: string, quietSince: 'updated_at' | 'created_at') => `
  UPDATE orders o
     SET reconcile_after = now() + $2 * interval '1 millisecond'
                           * power(2, least(o.reconcile_attempts, $3)),
         reconcile_attempts = o.reconcile_attempts + 1
   WHERE o.id IN (
     SELECT id FROM orders
      WHERE ${candidates}
        AND ${quietSince} <= now() - $2 * interval '1 millisecond'
        AND (reconcile_after IS NULL OR reconcile_after <= now())
      ORDER BY ${quietSince}
      LIMIT $1
      FOR UPDATE SKIP LOCKED)
  RETURNING o.id, o.payment_id`;

/** Orders whose payment may have moved without payments' update reaching us. */
const CLAIM_UNPAID = claimForCheck(
  "status IN ('awaiting_payment', 'payment_failed') AND payment_id IS NOT NULL",
  'updated_at',
);
/** Orders whose checkout stopped before their payment was attached. */
const CLAIM_PENDING = claimForCheck(
  "status = 'pending_payment' AND payment_id IS NULL",
  'created_at',
);

@Injectable()
export class OrdersRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Inserts the order, its items and, when given, the idempotency key's recovery point (the key's
   * `order_id`) in one statement: atomic without a transaction, and one round trip.
   */
  async insert(order: Order, recoveryKey?: KeyRef): Promise<void> {
    const { items } = order;
    await queryPrepared(this.db.manager, INSERT_ORDER, [
      order.id,
      order.customerId,
      order.status,
      order.currency,
      order.amount,
      order.createdAt,
      order.updatedAt,
      items.map((item) => item.position),
      items.map((item) => item.sku),
      items.map((item) => item.name),
      items.map((item) => item.quantity),
      items.map((item) => item.unitAmount),
      recoveryKey?.customerId ?? null,
      recoveryKey?.key ?? null,
    ]);
  }

  /**
   * Attaches the payment to an order still waiting for one (`pending_payment`), moving it to
   * `awaiting_payment` with its history row, in one statement. False when the order is not (or no
   * longer) in that state: the caller reads it to find out why.
   */
  async attachPayment(
    orderId: string,
    fields: OrderFields,
    at: Date,
    source: StatusChangeSource,
  ): Promise<boolean> {
    const rows = await queryPrepared(this.db.manager, ATTACH_PAYMENT, [
      orderId,
      fields.paymentId,
      fields.paymentStatus,
      fields.paymentClientSecret,
      fields.paymentVersion,
      at,
      source,
    ]);
    return rows.length === 1;
  }

  findForCustomer(id: string, customerId: string): Promise<Order | null> {
    return this.selectOne(ORDER_FOR_CUSTOMER, [id, customerId]);
  }

  /** The order when the scope reaches it; a customer's scope is part of the query itself. */
  findInScope(id: string, scope: OrderScope): Promise<Order | null> {
    return 'customerId' in scope ? this.findForCustomer(id, scope.customerId) : this.findById(id);
  }

  findById(id: string): Promise<Order | null> {
    return this.selectOne(ORDER_BY_ID, [id]);
  }

  private async selectOne(statement: PreparedStatement, values: unknown[]): Promise<Order | null> {
    const [row] = await queryPrepared<OrderRow>(this.db.manager, statement, values);
    return row ? orderFromRow(row) : null;
  }

  /** One page of a customer's orders, newest first, strictly after the cursor: one statement. */
  async listForCustomer(customerId: string, limit: number, after?: OrderCursor): Promise<Order[]> {
    const rows = after
      ? await queryPrepared<OrderRow>(this.db.manager, ORDERS_PAGE_AFTER, [
          customerId,
          limit,
          after.createdAt,
          after.id,
        ])
      : await queryPrepared<OrderRow>(this.db.manager, ORDERS_PAGE, [customerId, limit]);
    return rows.map(orderFromRow);
  }

  /**
   * Locks the order's row, lets `decide` look at it, and applies the change it returns (null: none)
   * with its history row, all in one transaction: concurrent changes to one order queue up on the
   * lock and each decides on what the previous one committed. `decide` may throw to roll back.
   * Returns the order as committed, or null when it does not exist.
   */
  async changeLocked(
    orderId: string,
    decide: (current: LockedOrder) => OrderChange | null,
  ): Promise<{ order: Order; changed: boolean } | null> {
    return this.db.transaction(async (tx) => {
      const [row] = await queryPrepared<OrderRow>(tx, LOCK_ORDER, [orderId]);
      if (!row) return null;
      const current: LockedOrder = {
        id: row.id,
        status: row.status,
        amount: bigintToNumber(row.amount),
        paymentId: row.payment_id,
        paymentVersion: BigInt(row.payment_version),
      };
      const change = decide(current);
      if (!change) return { order: orderFromRow(row), changed: false };
      // The items never change: the order as committed is the updated row with the locked items.
      const updated = await this.apply(tx, current, change);
      return { order: orderFromRow({ ...updated, items: row.items }), changed: true };
    });
  }

  /** The change, and its history row when the status moves, in one statement; the updated row. */
  private async apply(
    tx: EntityManager,
    current: LockedOrder,
    change: OrderChange,
  ): Promise<Omit<OrderRow, 'items'>> {
    const parameters: unknown[] = [current.id, change.status, change.at];
    const assignments = ['status = $2', 'updated_at = $3'];
    for (const [field, value] of Object.entries(change.fields ?? {})) {
      if (value === undefined) continue;
      parameters.push(value);
      assignments.push(`${FIELD_COLUMNS[field as keyof OrderFields]} = $${parameters.length}`);
    }
    const update = `UPDATE orders SET ${assignments.join(', ')} WHERE id = $1
                     RETURNING ${ORDER_COLUMNS}`;
    // TypeORM answers an UPDATE with [rows, count], a SELECT with rows.
    if (change.status === current.status) {
      const [[row]] = await tx.query<[Omit<OrderRow, 'items'>[], number]>(update, parameters);
      return row;
    }
    const n = parameters.length;
    const history = recordStatusChange(`$${n + 1}::text`, `$${n + 2}::bigint`, `$${n + 3}::text`);
    const [row] = await tx.query<Omit<OrderRow, 'items'>[]>(
      `WITH changed AS (${update}), history AS (${history})
       SELECT * FROM changed`,
      [...parameters, current.status, change.fields?.paymentVersion ?? null, change.source],
    );
    return row;
  }

  /**
   * Claims up to `batch` unpaid orders whose payment has been quiet for `afterMs`, for a check
   * against payments.
   */
  async claimForReconciliation(batch: number, afterMs: number): Promise<ReconcileCandidate[]> {
    const rows = await this.claim(CLAIM_UNPAID, batch, afterMs);
    return rows.map((row) => ({ orderId: row.id, paymentId: row.payment_id! }));
  }

  /**
   * Claims up to `batch` orders left `pending_payment` for `afterMs` (their checkout was cut off
   * before attaching its payment, and the client has not come back), to obtain their payment.
   */
  async claimPendingForReconciliation(batch: number, afterMs: number): Promise<string[]> {
    const rows = await this.claim(CLAIM_PENDING, batch, afterMs);
    return rows.map((row) => row.id);
  }

  private async claim(statement: string, batch: number, afterMs: number) {
    // TypeORM answers an UPDATE with [rows, count].
    const [rows] = await this.db.query<[{ id: string; payment_id: string | null }[], number]>(
      statement,
      [batch, afterMs, MAX_BACKOFF_DOUBLINGS],
    );
    return rows;
  }

  /** Gives back claims that could not be checked, so that the next round takes them again. */
  async releaseReconciliation(orderIds: string[]): Promise<void> {
    if (orderIds.length === 0) return;
    await this.db.query(
      `UPDATE orders
          SET reconcile_after = NULL, reconcile_attempts = greatest(reconcile_attempts - 1, 0)
        WHERE id = ANY($1::uuid[])`,
      [orderIds],
    );
  }
}
