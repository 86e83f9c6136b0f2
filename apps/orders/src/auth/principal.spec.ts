import { describe, expect, it } from '@jest/globals';
import { orderScope, rolesOf } from './principal.js';

describe(rolesOf.name, () => {
  it.each([
    [['customer'], ['customer']],
    [
      ['admin', 'customer', 42, null],
      ['customer', 'admin'],
    ],
    ['admin customer', ['customer', 'admin']],
    ['administrator', []],
    [['Admin'], []],
    [{ admin: true }, []],
    [undefined, []],
  ])('reads %j as %j', (claim, roles) => {
    expect(rolesOf(claim)).toEqual(roles);
  });
});

describe(orderScope.name, () => {
  const customer = { subject: 'cus_1', roles: ['customer'] as const };
  const admin = { subject: 'adm_1', roles: ['admin'] as const };

  it('keeps a customer to their own orders for every action', () => {
    for (const action of ['read', 'cancel', 'refund'] as const) {
      expect(orderScope(customer, action)).toEqual({ customerId: 'cus_1' });
    }
  });

  it('lets an admin read and refund any order, but cancel only their own', () => {
    expect(orderScope(admin, 'read')).toEqual({ anyCustomer: true });
    expect(orderScope(admin, 'refund')).toEqual({ anyCustomer: true });
    expect(orderScope(admin, 'cancel')).toEqual({ customerId: 'adm_1' });
  });
});
