import { invalidParam, resourceMissing } from './errors.js';
import type { ParamReader } from './params.js';

export interface ListObject<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  url: string;
}

/** The pagination and `created` filter parameters every Stripe list endpoint shares. */
export const LIST_PARAMS = ['limit', 'starting_after', 'ending_before', 'created', 'expand'];

/**
 * A page of `items` (given in creation order), newest first, as Stripe lists objects. Cursors
 * are object ids: `starting_after` pages towards older objects, `ending_before` towards newer.
 */
export function listPage<T extends { id: string; created: number }>(
  items: T[],
  params: ParamReader,
  { url, objectName }: { url: string; objectName: string },
): ListObject<T> {
  const limit = params.integer('limit') ?? 10;
  if (limit < 1 || limit > 100) {
    const bound = limit < 1 ? 'greater than or equal to 1' : 'less than or equal to 100';
    throw invalidParam('limit', `This value must be ${bound}.`);
  }
  const startingAfter = params.string('starting_after');
  const endingBefore = params.string('ending_before');
  if (startingAfter !== undefined && endingBefore !== undefined) {
    throw invalidParam(
      'ending_before',
      'You may only specify one of these parameters: starting_after, ending_before.',
      'parameters_exclusive',
    );
  }

  const newestFirst = items.filter(createdFilter(params)).reverse();
  const position = (id: string, param: string): number => {
    const index = newestFirst.findIndex((item) => item.id === id);
    if (index < 0) throw resourceMissing(objectName, id, param);
    return index;
  };

  if (endingBefore !== undefined) {
    const end = position(endingBefore, 'ending_before');
    const start = Math.max(0, end - limit);
    return { object: 'list', data: newestFirst.slice(start, end), has_more: start > 0, url };
  }
  const start = startingAfter === undefined ? 0 : position(startingAfter, 'starting_after') + 1;
  const data = newestFirst.slice(start, start + limit);
  return { object: 'list', data, has_more: start + limit < newestFirst.length, url };
}

/** `created=<ts>` or `created[gt|gte|lt|lte]=<ts>`. */
function createdFilter(params: ParamReader): (item: { created: number }) => boolean {
  const raw = params.raw()['created'];
  if (raw === undefined || raw === '') return () => true;
  if (typeof raw === 'string') {
    const exact = params.integer('created');
    return (item) => item.created === exact;
  }
  const range = params.requiredHash('created').allowOnly(['gt', 'gte', 'lt', 'lte']);
  const [gt, gte, lt, lte] = ['gt', 'gte', 'lt', 'lte'].map((key) => range.integer(key));
  return ({ created }) =>
    (gt === undefined || created > gt) &&
    (gte === undefined || created >= gte) &&
    (lt === undefined || created < lt) &&
    (lte === undefined || created <= lte);
}
