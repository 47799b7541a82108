import { useState, type ReactNode } from 'react';
import { Button, Drawer, Flex } from 'antd';
import { useTranslation } from 'react-i18next';

/**
 * The shell of every create/edit form: a drawer whose title stays at the top and whose
 * Save / Cancel stay at the bottom while the form between them scrolls, so neither the title nor
 * the buttons leave a 1440×900 window (nor a phone's: the drawer then takes the whole width).
 * Save shows progress and cannot be sent twice; Escape and Cancel close without saving.
 *
 * `onSave` is the form's submit (see useModalSubmit: it validates, scrolls to the first field in
 * error, sends, and closes on success). Focus goes back to the opener through focusReturn.ts.
 */
export function FormDrawer({ title, open = true, onClose, onSave, saveText, width = 720, children }: {
  title: ReactNode;
  open?: boolean;
  onClose: () => void;
  onSave: () => Promise<void>;
  /** The label of the primary button, when it does more than save (e.g. "Push"). */
  saveText?: string;
  width?: number;
  children: ReactNode;
}) {
  const { t } = useTranslation();
  const [saving, setSaving] = useState(false);
  const save = async () => {
    if (saving) return;
    setSaving(true);
    try {
      await onSave();
    } finally {
      setSaving(false);
    }
  };
  return (
    <Drawer
      open={open}
      title={title}
      onClose={onClose}
      size={width}
      destroyOnHidden
      rootClassName="form-drawer"
      footer={(
        <Flex justify="end" gap={8}>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="primary" loading={saving} onClick={() => void save()}>{saveText ?? t('common.save')}</Button>
        </Flex>
      )}
    >
      {children}
    </Drawer>
  );
}
