import { App, type FormInstance } from 'antd';
import { useTranslation } from 'react-i18next';
import { applyFieldError, errorText } from './apiErrors.ts';
import { changedFields } from './diff.ts';

interface ModalSubmit<V, I extends object> {
  form: FormInstance<V>;
  /** The record being edited, or null when creating. */
  editing: unknown;
  toInput: (values: V) => I;
  /** The editable fields of the record as they are now, to send only what changed. */
  current: () => I;
  onSubmit: (body: Partial<I>) => Promise<unknown>;
  onClose: () => void;
  /** Fields never sent on an edit (e.g. the username). */
  immutable?: (keyof I)[];
  /** Last touches on the body from the raw values (e.g. write-only secrets: sent only when replaced or cleared). */
  amend?: (body: Partial<I>, values: V) => void;
}

/**
 * The Save handler of a create/edit form (FormDrawer): validate (antd shows field errors), send the new
 * record or only the changed fields, report success, and put an API error next to the field
 * it names (or in a message).
 */
export function useModalSubmit<V, I extends object>(o: ModalSubmit<V, I>): () => Promise<void> {
  const { t } = useTranslation();
  const { message } = App.useApp();
  return async () => {
    const values = await o.form.validateFields().catch((e: { errorFields?: { name: (string | number)[] }[] }) => {
      // The first field in error is brought into view, even inside a long scrolling form.
      const first = e?.errorFields?.[0]?.name;
      if (first) o.form.scrollToField(first, { block: 'center' });
      return null;
    });
    if (!values) return;
    const input = o.toInput(values);
    const body: Partial<I> = o.editing ? changedFields(o.current(), input) : input;
    if (o.editing) for (const k of o.immutable ?? []) delete body[k];
    o.amend?.(body, values);
    if (o.editing && Object.keys(body).length === 0) { o.onClose(); return; }
    try {
      await o.onSubmit(body);
      void message.success(o.editing ? t('app.saved') : t('app.created'));
      o.onClose();
    } catch (e) {
      if (!applyFieldError(o.form, e)) void message.error(errorText(e));
    }
  };
}
