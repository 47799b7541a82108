import type { FormInstance } from 'antd';
import { ApiError } from '../services/api.ts';
import { i18n } from '../i18n/index.ts';

/**
 * The API's answer as a sentence in the user's language: its stable `details.reason` first,
 * then zod's issue code with its parameters, then the error code. The server's English
 * `message` is never shown as such (it would leak English and raw zod text into zh-CN).
 */
export function describeApiError(error: ApiError): string {
  const d = error.details;
  const t = i18n.t.bind(i18n) as (key: string, opts?: Record<string, unknown>) => string;
  const has = (key: string) => i18n.exists(key);
  if (error.status === 0) return t('errors.codes.network_error');
  // `invalid_input` only says zod refused the input: the issue code says what was wrong.
  if (error.reason && error.reason !== 'invalid_input' && has(`errors.reasons.${error.reason}`)) return t(`errors.reasons.${error.reason}`, interpolation(d));
  const issue = typeof d.issue === 'string' ? d.issue : null;
  if (issue) {
    const params = (d.params ?? {}) as { origin?: string; maximum?: unknown; minimum?: unknown };
    const bySize = params.origin === 'string' || params.origin === 'array' ? `${issue}_${params.origin}` : issue;
    const key = has(`errors.issues.${bySize}`) ? `errors.issues.${bySize}` : `errors.issues.${issue}`;
    if (has(key)) return t(key, { maximum: params.maximum, minimum: params.minimum });
  }
  if (error.reason && has(`errors.reasons.${error.reason}`)) return t(`errors.reasons.${error.reason}`, interpolation(d));
  if (error.code === 'conflict' && typeof d.field === 'string') return t('errors.conflictField');
  if (has(`errors.codes.${error.code}`)) return t(`errors.codes.${error.code}`);
  return t('errors.codes.unknown');
}

/** The details' plain values (names, limits) for the sentence; i18next's own option names are left out. */
function interpolation(details: Record<string, unknown>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(details)) {
    if (k === 'count' || k === 'context' || k === 'lng' || k === 'ns' || k === 'defaultValue') continue;
    if (typeof v === 'string' || typeof v === 'number') out[k] = v;
  }
  return out;
}

/**
 * Shows an API error next to the form field it names (`details.field`), when the form has that field.
 * Returns false when the error is not about a field of this form, so the caller shows it otherwise.
 */
export function applyFieldError(form: FormInstance, error: unknown, fieldMap: Record<string, string> = {}): boolean {
  if (!(error instanceof ApiError) || !error.field) return false;
  const nameOf = (field: string) => { const top = field.split('.')[0]!; return fieldMap[top] ?? top; };
  const known = (name: string) => Object.prototype.hasOwnProperty.call(form.getFieldsValue(true) as object, name) || form.getFieldInstance(name) !== undefined;
  const name = nameOf(error.field);
  if (!known(name)) return false;
  // Every field zod refused gets its own sentence (the first issue is the error itself).
  const errors = new Map<string, string>([[name, describeApiError(error)]]);
  for (const issue of issuesOf(error)) {
    const other = nameOf(issue.field);
    if (errors.has(other) || !known(other)) continue;
    const reason = typeof issue.params.reason === 'string' ? issue.params.reason : 'invalid_input';
    errors.set(other, describeApiError(new ApiError(error.status, { code: error.code, message: issue.message, details: { reason, field: issue.field, issue: issue.code, params: issue.params } })));
  }
  form.setFields([...errors].map(([n, text]) => ({ name: n, errors: [text] })));
  form.scrollToField(name, { block: 'center' });
  return true;
}

interface Issue { field: string; code: string; params: Record<string, unknown>; message: string }

/** The zod issues the API listed in `details.issues`, as far as they have the expected shape. */
function issuesOf(error: ApiError): Issue[] {
  const list = error.details.issues;
  if (!Array.isArray(list)) return [];
  return list.flatMap((i: unknown) => {
    const o = i as Partial<Issue> | null;
    return o && typeof o.field === 'string' && o.field && typeof o.code === 'string'
      ? [{ field: o.field, code: o.code, params: o.params && typeof o.params === 'object' ? o.params : {}, message: String(o.message ?? '') }]
      : [];
  });
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return describeApiError(error);
  if (error instanceof Error) return error.message;
  return String(error);
}

/** An enum value from the API in the user's language (`enums.<group>.<value>`), or the value itself when unknown. */
export function enumText(group: 'platform' | 'sessionStatus' | 'sessionKind' | 'risk' | 'loginChannel' | 'loginMethod' | 'loginReason' | 'operationAction' | 'resourceType', value: string | null | undefined): string {
  if (!value) return '—';
  // Combined methods ("password+totp") are worded part by part.
  if (group === 'loginMethod' && value.includes('+')) return value.split('+').map((v) => enumText(group, v)).join(' + ');
  const key = `enums.${group}.${value}`;
  return i18n.exists(key) ? (i18n.t as (k: string) => string)(key) : value;
}
