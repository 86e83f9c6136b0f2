import { SetMetadata } from '@nestjs/common';
import type { Role } from './principal.js';

export const ROLES_METADATA = 'orders:roles';

/**
 * The roles a storefront route accepts (any one of them will do). RolesGuard refuses every route
 * that declares none: a route added without deciding who may call it stays closed.
 */
export const Roles = (...roles: [Role, ...Role[]]) => SetMetadata(ROLES_METADATA, roles);
