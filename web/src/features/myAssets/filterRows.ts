import type { MyAssetRow } from '../../services/myAssets.ts';

/** More rows than this, and My assets shows the node tree and the label filter. */
export const MANY_ROWS = 10;

export interface RowFilter {
  search: string;
  labels: string[];
  /** The selected node and its descendants; null: every node. */
  nodes: ReadonlySet<string> | null;
}

/** The rows matching the search text (asset, address, system user, comment), every chosen label, and the node. */
export function filterRows(rows: MyAssetRow[], f: RowFilter): MyAssetRow[] {
  const s = f.search.trim().toLowerCase();
  return rows.filter((r) => {
    if (s && ![r.asset.name, r.asset.address, r.asset.comment, r.systemUser.name, r.systemUser.username].some((x) => x.toLowerCase().includes(s))) return false;
    if (f.labels.length && !f.labels.every((l) => r.asset.labels.includes(l))) return false;
    if (f.nodes && !r.asset.nodes.some((n) => f.nodes!.has(n))) return false;
    return true;
  });
}
