import type { FormInstance } from 'antd';
import { ApiError } from '../services/api.ts';

/**
 * Shows an API error next to the form field it names (`details.field`), when the form has that field.
 * Returns false when the error is not about a field of this form, so the caller shows it otherwise.
 */
export function applyFieldError(form: FormInstance, error: unknown, fieldMap: Record<string, string> = {}): boolean {
  if (!(error instanceof ApiError) || !error.field) return false;
  const top = error.field.split('.')[0]!;
  const name = fieldMap[top] ?? top;
  const known = Object.prototype.hasOwnProperty.call(form.getFieldsValue(true) as object, name) || form.getFieldInstance(name) !== undefined;
  if (!known) return false;
  form.setFields([{ name, errors: [error.message] }]);
  form.scrollToField(name);
  return true;
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
