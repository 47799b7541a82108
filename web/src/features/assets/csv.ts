/** RFC 4180-ish CSV: commas, double-quoted fields with "" escapes, CRLF or LF line ends. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); field = '';
      if (row.some((f) => f.trim() !== '')) rows.push(row);
      row = [];
    } else field += c;
  }
  row.push(field);
  if (row.some((f) => f.trim() !== '')) rows.push(row);
  return rows;
}

export interface AssetCsvRow {
  line: number;
  name: string;
  address: string;
  port?: number;
  platform?: string;
  labels: string[];
  comment?: string;
}

/** Rows of an asset CSV keyed by its header line (name and address required). */
export function assetRows(text: string): AssetCsvRow[] {
  const [header, ...rows] = parseCsv(text.replace(/^\uFEFF/, ''));
  if (!header) return [];
  const col = (name: string) => header.findIndex((h) => h.trim().toLowerCase() === name);
  const idx = { name: col('name'), address: col('address'), port: col('port'), platform: col('platform'), labels: col('labels'), comment: col('comment') };
  const get = (r: string[], i: number) => (i >= 0 ? (r[i] ?? '').trim() : '');
  return rows.map((r, n) => {
    const port = get(r, idx.port);
    return {
      line: n + 2,
      name: get(r, idx.name),
      address: get(r, idx.address),
      port: port ? Number(port) : undefined,
      platform: get(r, idx.platform) || undefined,
      labels: get(r, idx.labels).split(';').map((s) => s.trim()).filter(Boolean),
      comment: get(r, idx.comment) || undefined,
    };
  });
}
