/**
 * Dates, numbers, byte sizes and durations in the user's language: the one place the web app
 * turns them into text (Intl, keyed by the i18n language), so a zh-CN page reads
 * "2026年12月5日 13:04:05" and "3 分钟前" where an English one reads "Dec 5, 2026, 1:04:05 PM".
 */
import { i18n } from './index.ts';

const DASH = '—';

/** The BCP 47 locale of the current i18n language. */
export function locale(): string {
  return i18n.language === 'zh' ? 'zh-CN' : 'en';
}

// Intl formatters are costly to build and tables call these per cell: one of each per locale.
const cache = new Map<string, Intl.DateTimeFormat | Intl.NumberFormat | Intl.RelativeTimeFormat>();
function cached<T extends Intl.DateTimeFormat | Intl.NumberFormat | Intl.RelativeTimeFormat>(name: string, make: (loc: string) => T): T {
  const loc = locale();
  const key = `${name}:${loc}`;
  let f = cache.get(key) as T | undefined;
  if (!f) {
    f = make(loc);
    cache.set(key, f);
  }
  return f;
}

function toDate(value: string | number | Date | null | undefined): Date | null {
  if (value === null || value === undefined || value === '') return null;
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Local date and time, to the second (tables, details), or a dash. */
export function formatTime(value: string | number | Date | null | undefined): string {
  const d = toDate(value);
  if (!d) return DASH;
  return cached('datetime', (loc) => new Intl.DateTimeFormat(loc, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })).format(d);
}

/** Local date without the time, or a dash. */
export function formatDate(value: string | number | Date | null | undefined): string {
  const d = toDate(value);
  if (!d) return DASH;
  return cached('date', (loc) => new Intl.DateTimeFormat(loc, { year: 'numeric', month: 'short', day: 'numeric' })).format(d);
}

/** A count or measure with the language's grouping ("12,345"), or a dash. */
export function formatNumber(n: number | null | undefined, fractionDigits = 0): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  if (fractionDigits === 0) return cached('integer', (loc) => new Intl.NumberFormat(loc, { maximumFractionDigits: 0 })).format(n);
  return cached(`decimal${fractionDigits}`, (loc) => new Intl.NumberFormat(loc, { maximumFractionDigits: fractionDigits })).format(n);
}

/** A share of 1 as a percentage ("67%"). */
export function formatPercent(ratio: number): string {
  return cached('percent', (loc) => new Intl.NumberFormat(loc, { style: 'percent', maximumFractionDigits: 0 })).format(ratio);
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** Bytes as B, KiB, MiB, GiB, TiB with the language's digits and separators; a dash when unknown. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  let v = n;
  let i = 0;
  while (v >= 1024 && i < BYTE_UNITS.length - 1) { v /= 1024; i++; }
  // Below 1024 in every unit: no grouping ("1000.5 KiB", not "1,000.5 KiB").
  const digits = cached('bytes', (loc) => new Intl.NumberFormat(loc, { maximumFractionDigits: 1, minimumFractionDigits: 0, useGrouping: false }));
  return `${digits.format(i === 0 ? v : Math.round(v * 10) / 10)} ${BYTE_UNITS[i]}`;
}

type DurationUnit = 'hour' | 'minute' | 'second';
function unit(value: number, u: DurationUnit): string {
  return cached(`unit-${u}`, (loc) => new Intl.NumberFormat(loc, { style: 'unit', unit: u, unitDisplay: 'narrow' })).format(value);
}

/** A duration in milliseconds as its two largest units ("1h 5m", "1小时5分钟"); a dash when unknown. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return DASH;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const sep = locale() === 'zh-CN' ? '' : ' ';
  if (h) return `${unit(h, 'hour')}${sep}${unit(m, 'minute')}`;
  if (m) return `${unit(m, 'minute')}${sep}${unit(sec, 'second')}`;
  return unit(sec, 'second');
}

const RELATIVE_STEPS: [Intl.RelativeTimeFormatUnit, number][] = [['second', 60], ['minute', 60], ['hour', 24], ['day', 30], ['month', 12], ['year', Infinity]];

/** How long ago (or from now) a moment is ("3 minutes ago", "3分钟前"); a dash when unknown. */
export function formatRelative(value: string | number | Date | null | undefined, now = Date.now()): string {
  const d = toDate(value);
  if (!d) return DASH;
  let amount = (d.getTime() - now) / 1000;
  const rtf = cached('relative', (loc) => new Intl.RelativeTimeFormat(loc, { numeric: 'auto' })) as Intl.RelativeTimeFormat;
  for (const [u, size] of RELATIVE_STEPS) {
    if (Math.abs(amount) < size) return rtf.format(Math.round(amount), u);
    amount /= size;
  }
  return rtf.format(Math.round(amount), 'year');
}
