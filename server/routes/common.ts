import { z } from 'zod';

export const idParams = z.object({ id: z.uuid('must be a UUID') });

const boolish = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const listQuery = z.object({
  search: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  offset: z.coerce.number().int().min(0).max(10_000_000).optional(),
});

export const queryBool = boolish.optional();
export const queryDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s)).optional();

/** `labels=rack:r3,env:prod`: every one must be carried. */
export const labelsQuery = z.string().max(1000).optional().transform((v) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean));

export const name = z.string().trim().min(1, 'is required').max(128);
export const comment = z.string().max(2000);
export const idList = z.array(z.uuid('must be a UUID')).max(10_000);
export const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
export const nullableDate = isoDate.nullable();
export const username = z.string().min(1).max(64).regex(/^[a-z0-9._-]+$/, 'may hold only a-z, 0-9, dot, underscore and dash');
export const accountUsername = z.string().min(1).max(64).regex(/^[a-z_][a-z0-9._-]*\$?$/i, 'is not a valid Linux account name');
export const password = z.string().min(1).max(256);

export interface ListResult<T> {
  items: T[];
  total: number;
}

export function pageOf<T, U>(page: { items: T[]; total: number }, present: (t: T) => U): ListResult<U> {
  return { items: page.items.map(present), total: page.total };
}
