import { DomainError } from '#common/errors.js';
import { isUuid } from '#common/uuid.js';

/** Position in a newest-first listing: the last order seen. */
export interface OrderCursor {
  createdAt: Date;
  id: string;
}

/** Opaque to clients: base64url of `<created-at millis>.<order id>`. */
export function encodeCursor(cursor: OrderCursor): string {
  return Buffer.from(`${cursor.createdAt.getTime()}.${cursor.id}`).toString('base64url');
}

export function decodeCursor(value: string): OrderCursor {
  const [millis, id, ...rest] = Buffer.from(value, 'base64url').toString('utf8').split('.');
  const createdAt = new Date(Number(millis));
  if (
    rest.length > 0 ||
    !/^\d{1,15}$/.test(millis ?? '') ||
    Number.isNaN(createdAt.getTime()) ||
    !isUuid(id ?? '')
  ) {
    throw DomainError.validation([{ field: 'cursor', message: 'is not a valid cursor' }]);
  }
  return { createdAt, id: id };
}
