import { useState } from 'react';
import { Button, Input, Space, Tag, Upload } from 'antd';
import { UploadOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';

/**
 * A write-only secret. The API never returns it, only whether one is set; here `undefined` keeps it,
 * `null` clears it and a string replaces it. The current secret is never shown (there is none to show).
 */
export function SecretInput({ id, value, onChange, isSet, multiline = false, fileUpload = false }: {
  id?: string;
  value?: string | null;
  onChange?: (v: string | null | undefined) => void;
  isSet: boolean;
  multiline?: boolean;
  fileUpload?: boolean;
}) {
  const { t } = useTranslation();
  const [editing, setEditing] = useState(!isSet);
  const status = value === null
    ? <Tag color="orange">{t('accounts.clear')}</Tag>
    : <Tag color={isSet ? 'green' : undefined} data-testid="secret-status">{isSet ? t('accounts.secretSet') : t('accounts.secretNotSet')}</Tag>;

  if (!editing) {
    return (
      <Space wrap>
        {status}
        <Button id={id} size="small" onClick={() => { setEditing(true); onChange?.(''); }}>{t('accounts.replace')}</Button>
        {isSet && value !== null ? <Button size="small" danger onClick={() => onChange?.(null)}>{t('accounts.clear')}</Button> : null}
        {value === null ? <Button size="small" onClick={() => onChange?.(undefined)}>{t('accounts.keepSecret')}</Button> : null}
      </Space>
    );
  }

  const text = typeof value === 'string' ? value : '';
  return (
    <Space orientation="vertical" style={{ width: '100%' }}>
      {multiline ? (
        <Input.TextArea id={id} rows={5} className="mono" value={text} onChange={(e) => onChange?.(e.target.value)} autoComplete="off" spellCheck={false} placeholder="-----BEGIN OPENSSH PRIVATE KEY-----" />
      ) : (
        <Input.Password id={id} value={text} onChange={(e) => onChange?.(e.target.value)} autoComplete="new-password" />
      )}
      <Space>
        {fileUpload ? (
          <Upload showUploadList={false} maxCount={1} beforeUpload={async (file) => { onChange?.(await file.text()); return false; }}>
            <Button size="small" icon={<UploadOutlined />}>{t('accounts.privateKeyUpload')}</Button>
          </Upload>
        ) : null}
        {isSet ? <Button size="small" onClick={() => { setEditing(false); onChange?.(undefined); }}>{t('common.cancel')}</Button> : null}
      </Space>
    </Space>
  );
}
