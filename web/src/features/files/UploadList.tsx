import { Button, List, Progress, Space, Typography } from 'antd';
import { CloseOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { formatBytes } from '../../i18n/format.ts';
import type { UploadItem } from './useUploads.ts';

/** Each upload with its progress bar, and Cancel while it runs (Replace when the file exists). */
export function UploadList({ uploads, onCancel, onReplace, onDismiss }: {
  uploads: UploadItem[];
  onCancel: (id: number) => void;
  onReplace: (id: number) => void;
  onDismiss: (id: number) => void;
}) {
  const { t } = useTranslation();
  if (uploads.length === 0) return null;
  return (
    <List
      size="small"
      bordered
      style={{ marginBottom: 12 }}
      aria-label={t('files.uploads')}
      dataSource={uploads}
      renderItem={(u) => {
        const percent = u.size > 0 ? Math.floor((u.sent / u.size) * 100) : u.state === 'done' ? 100 : 0;
        return (
          <List.Item
            data-testid="upload-item"
            data-state={u.state}
            actions={[
              u.state === 'sending' ? <Button key="cancel" size="small" onClick={() => onCancel(u.id)} aria-label={`${t('common.cancel')} ${u.name}`}>{t('common.cancel')}</Button> : null,
              u.state === 'exists' ? <Button key="replace" size="small" danger onClick={() => onReplace(u.id)}>{t('files.replace')}</Button> : null,
              u.state !== 'sending' ? <Button key="dismiss" size="small" type="text" icon={<CloseOutlined />} aria-label={`${t('common.close')} ${u.name}`} onClick={() => onDismiss(u.id)} /> : null,
            ].filter(Boolean)}
          >
            <Space orientation="vertical" style={{ width: '100%' }} size={0}>
              <Space>
                <Typography.Text strong>{u.name}</Typography.Text>
                <Typography.Text type="secondary">{formatBytes(u.size)}</Typography.Text>
                <Typography.Text type={u.state === 'failed' || u.state === 'exists' ? 'danger' : 'secondary'} data-testid="upload-status">
                  {u.message ?? t(`files.state.${u.state}`)}
                </Typography.Text>
              </Space>
              <Progress percent={percent} size="small" status={u.state === 'failed' || u.state === 'cancelled' ? 'exception' : u.state === 'done' ? 'success' : 'active'} aria-label={`${t('files.progress')} ${u.name}`} />
            </Space>
          </List.Item>
        );
      }}
    />
  );
}
