import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';

/** A label is `key:value` (or a bare word); search text may hold label terms among plain words. */
const LABEL_TERM = /^[^\s:]+:[^\s]+$/;

/**
 * Splits search text into label terms (`rack:r3`: the asset must carry exactly that label) and
 * the remaining words (matched as text), so `rack:r3 web` finds assets labelled rack:r3 whose
 * name, address, comment or labels hold "web".
 */
export function splitLabelSearch(search: string | undefined): { labels: string[]; text: string } {
  const words = (search ?? '').trim().split(/\s+/).filter(Boolean);
  return { labels: words.filter((w) => LABEL_TERM.test(w)), text: words.filter((w) => !LABEL_TERM.test(w)).join(' ') };
}


/**
 * Keeps rows whose labels column (simple-json text: `["rack:r3","env:prod"]`) holds each label
 * exactly, case-insensitively; portable across SQLite and PostgreSQL (a LIKE on the JSON text,
 * quotes included, so `rack:r3` does not match `rack:r30`).
 */
export function whereLabels<T extends ObjectLiteral>(qb: SelectQueryBuilder<T>, column: string, labels: string[]): SelectQueryBuilder<T> {
  labels.forEach((label, i) => {
    const json = JSON.stringify(label.toLowerCase());
    qb.andWhere(`LOWER(${column}) LIKE :label${i} ESCAPE '\\'`, { [`label${i}`]: '%' + json.replace(/[\\%_]/g, (c) => '\\' + c) + '%' });
  });
  return qb;
}
