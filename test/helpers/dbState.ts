// What a refused or malformed request must leave alone: every row of every table, not just how
// many (a PATCH that changes one field changes no count).
import type { DataSource } from 'typeorm';

/** Every row of every table, sorted, except the columns that authenticating a request touches by design (a web session or token marked as seen). */
export async function dbState(ds: DataSource): Promise<string> {
  const parts: string[] = [];
  for (const meta of [...ds.entityMetadatas].sort((x, y) => x.tableName.localeCompare(y.tableName))) {
    const rows = await ds.query(`SELECT * FROM "${meta.tableName}"`) as Record<string, unknown>[];
    // Each row serialized once, then sorted: sorting the rows by serializing both sides of every
    // comparison made the every-route matrix of api.roles take minutes as the log tables grew.
    const clean = rows.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !/^(last_seen_at|last_used_at)$/.test(k)))));
    clean.sort();
    parts.push(`${meta.tableName}: [${clean.join(',')}]`);
  }
  return parts.join('\n');
}
