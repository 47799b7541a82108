import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';

export interface ListQuery {
  search?: string | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

export interface Page<T> {
  items: T[];
  total: number;
}

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 100_000;

/** Case-insensitive substring search over the given columns, portable across SQLite and PostgreSQL. */
export function applySearch<T extends ObjectLiteral>(qb: SelectQueryBuilder<T>, columns: string[], search: string | undefined): SelectQueryBuilder<T> {
  const s = search?.trim();
  if (!s) return qb;
  const pattern = '%' + s.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c) + '%';
  const ors = columns.map((c) => `LOWER(${c}) LIKE :search ESCAPE '\\'`).join(' OR ');
  return qb.andWhere(`(${ors})`, { search: pattern });
}

export async function paginate<T extends ObjectLiteral>(qb: SelectQueryBuilder<T>, q: ListQuery): Promise<Page<T>> {
  const limit = Math.min(q.limit ?? DEFAULT_LIMIT, MAX_LIMIT);
  const [items, total] = await qb.take(limit).skip(q.offset ?? 0).getManyAndCount();
  return { items, total };
}
