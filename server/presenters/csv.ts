import type { Response } from 'express';

/** The most rows one CSV export holds (the list's filters narrow it). */
export const CSV_MAX_ROWS = 100_000;

/** One CSV field: quoted when needed; a leading = + - @ is neutralised so spreadsheets never run it. */
function field(v: unknown): string {
  let s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function sendCsv(res: Response, filename: string, columns: string[], rows: Record<string, unknown>[]): void {
  const lines = [columns.join(','), ...rows.map((r) => columns.map((c) => field(c.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | null)?.[k], r))).join(','))];
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${filename}"`);
  res.send(lines.join('\r\n') + '\r\n');
}
