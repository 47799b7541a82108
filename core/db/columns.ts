import type { EntitySchemaColumnOptions } from 'typeorm';

/**
 * Timestamps are stored as epoch milliseconds in a BIGINT: identical on SQLite and
 * PostgreSQL, sortable, and free of driver time-zone surprises.
 */
const msTransformer = {
  to: (d: Date | null | undefined): number | null | undefined => (d == null ? d : d.getTime()),
  from: (v: string | number | null): Date | null => (v == null ? null : new Date(Number(v))),
};

const intTransformer = {
  to: (n: number | null | undefined) => n,
  from: (v: string | number | null): number | null => (v == null ? null : Number(v)),
};

export const col = {
  id: (): EntitySchemaColumnOptions => ({ type: 'varchar', length: 36, primary: true }),
  ref: (nullable = false): EntitySchemaColumnOptions => ({ type: 'varchar', length: 36, nullable }),
  str: (length: number, nullable = false): EntitySchemaColumnOptions => ({ type: 'varchar', length, nullable }),
  text: (nullable = false): EntitySchemaColumnOptions => ({ type: 'text', nullable }),
  bool: (dflt: boolean): EntitySchemaColumnOptions => ({ type: 'boolean', default: dflt }),
  int: (dflt?: number, nullable = false): EntitySchemaColumnOptions => ({ type: 'integer', nullable, ...(dflt === undefined ? {} : { default: dflt }) }),
  big: (nullable = false): EntitySchemaColumnOptions => ({ type: 'bigint', nullable, transformer: intTransformer }),
  time: (nullable = false): EntitySchemaColumnOptions => ({ type: 'bigint', nullable, transformer: msTransformer }),
  json: (nullable = false): EntitySchemaColumnOptions => ({ type: 'simple-json', nullable }),
};
