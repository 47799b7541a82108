import type { DataSource } from 'typeorm';

/** The n-th bound parameter of a raw query, as this database spells it ($n or ?). */
export function sqlParam(ds: DataSource, n: number): string {
  return ds.options.type === 'postgres' ? `$${n}` : '?';
}
