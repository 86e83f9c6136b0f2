/** The roles a storefront token can carry; any other role name in a token is ignored. */
export const ROLES = ['customer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who a verified storefront token speaks for. */
export interface Principal {
  /** The token's `sub`: the customer id, and the scope of the caller's idempotency keys. */
  subject: string;
  /** The known roles the token grants; empty when it grants none (every route then answers 403). */
  roles: readonly Role[];
}

/** Which orders a use case may reach: the caller's own, or any customer's. */
export type OrderScope = { customerId: string } | { anyCustomer: true };

/**
 * What each role may do to an order it does not own. A customer reaches only their own orders;
 * an admin reads and refunds anyone's (but cancels and creates nothing on anyone's behalf).
 */
const ANY_CUSTOMER: Record<Role, ReadonlySet<OrderAction>> = {
  customer: new Set(),
  admin: new Set(['read', 'refund']),
};
export type OrderAction = 'read' | 'cancel' | 'refund';

export function orderScope(principal: Principal, action: OrderAction): OrderScope {
  return principal.roles.some((role) => ANY_CUSTOMER[role].has(action))
    ? { anyCustomer: true }
    : { customerId: principal.subject };
}

/** Reads the roles claim: a JSON array of strings, or one space-separated string (as `scope`). */
export function rolesOf(claim: unknown): Role[] {
  const names =
    typeof claim === 'string'
      ? claim.split(' ')
      : Array.isArray(claim)
        ? claim.filter((name): name is string => typeof name === 'string')
        : [];
  return ROLES.filter((role) => names.includes(role));
}
