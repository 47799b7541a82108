// Renders one page of the granted-assets table to fit the operator's window.
import type { GrantedAsset } from '../../core/access/accessService.ts';
import { terminalSafe } from '../terminalSafe.ts';

export interface Page {
  /** 0-based index of the first row shown, in the filtered list. */
  start: number;
  size: number;
}

/** Rows of the window left for table rows after the header, the column titles and the prompt. */
export function pageSizeFor(rows: number): number {
  return Math.max(3, rows - 5);
}

/** The text cell as it is displayed: no escape sequences or control characters, cut to `width` columns with an ellipsis. */
export function cell(text: string, width: number): string {
  const clean = terminalSafe(text.replace(/[\t\n\r\v\f]/g, ' '));
  const chars = [...clean];
  if (chars.length <= width) return clean + ' '.repeat(width - chars.length);
  if (width <= 1) return chars.slice(0, width).join('');
  return chars.slice(0, width - 1).join('') + '…';
}

/**
 * The table lines (CRLF-terminated) for rows [start, start+size) of `list`. Column widths
 * come from the rows shown, so one long name elsewhere does not squeeze this page.
 */
export function renderTable(list: readonly GrantedAsset[], page: Page, cols: number): string {
  const rows = list.slice(page.start, page.start + page.size);
  const numWidth = String(Math.max(1, page.start + rows.length)).length;
  const width = Math.max(20, cols - 1);
  const fixed = numWidth + 2 + 2 + 2; // "#  name  address  comment"
  const avail = Math.max(12, width - fixed);
  let nameW = Math.max(4, ...rows.map((r) => [...r.asset.name].length));
  let addrW = Math.max(7, ...rows.map((r) => [...`${r.asset.address}${r.asset.port === 22 ? '' : `:${r.asset.port}`}`].length));
  // Name first, then address, then whatever is left for the comment.
  nameW = Math.min(nameW, Math.max(8, Math.floor(avail * 0.4)));
  addrW = Math.min(addrW, Math.max(7, Math.floor(avail * 0.3)));
  const commentW = Math.max(0, avail - nameW - addrW);
  const line = (num: string, name: string, addr: string, comment: string): string =>
    `${num.padStart(numWidth)}  ${cell(name, nameW)}  ${cell(addr, addrW)}${commentW > 0 ? `  ${cell(comment, commentW)}` : ''}`.trimEnd() + '\r\n';
  let out = `\x1b[1m${line('#', 'NAME', 'ADDRESS', 'COMMENT').replace('\r\n', '')}\x1b[0m\r\n`;
  rows.forEach((r, i) => {
    const addr = `${r.asset.address}${r.asset.port === 22 ? '' : `:${r.asset.port}`}`;
    out += line(String(page.start + i + 1), r.asset.name, addr, r.asset.comment.split(/\r?\n/)[0] ?? '');
  });
  return out;
}
