import { BadRequestError } from '../errors/api-error';

/**
 * Cursor pagination over prefixed ids, which sort by creation time (see newId). A page is
 * fetched with one row more than asked; that row only says whether another page follows.
 */
export function decodeCursor(cursor: string | undefined): string | null {
  if (cursor === undefined) return null;
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[a-z]+_[0-9a-z]{1,64}$/.test(id)) {
    throw new BadRequestError('The cursor is not one Warden gave out; pass next_cursor from the previous page.', 'INVALID_CURSOR', [
      { location: 'query', field: 'cursor', message: 'is not a valid cursor', rule: 'format' },
    ]);
  }
  return id;
}

export function pageOf<Row extends { id: string }>(
  rows: Row[],
  limit: number,
): { items: Row[]; has_more: boolean; next_cursor: string | null } {
  const has_more = rows.length > limit;
  const items = has_more ? rows.slice(0, limit) : rows;
  return { items, has_more, next_cursor: has_more ? Buffer.from(items[items.length - 1]!.id).toString('base64url') : null };
}
