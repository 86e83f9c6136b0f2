import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';

/**
 * A database transaction in progress. Services hold it only to hand it from the unit of work to
 * the repositories taking part; only repositories reach the connection behind it (`managerOf`),
 * so no EntityManager or SQL leaves the persistence layer.
 */
export class Transaction {
  readonly #manager: EntityManager;

  private constructor(manager: EntityManager) {
    this.#manager = manager;
  }

  /**
   * For repositories: the transaction's EntityManager, or when there is none, `outside`'s (a
   * DataSource or TypeORM Repository: statements on the pool).
   */
  static managerOf(
    tx: Transaction | undefined,
    outside: { manager: EntityManager },
  ): EntityManager {
    return tx ? tx.#manager : outside.manager;
  }

  /** For Transactions.run: wraps the EntityManager TypeORM opened the transaction on. */
  static wrap(manager: EntityManager): Transaction {
    return new Transaction(manager);
  }
}

/** Opens transactions: commits when the work resolves, rolls back when it throws. */
@Injectable()
export class Transactions {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  run<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.db.transaction((manager) => work(Transaction.wrap(manager)));
  }
}
