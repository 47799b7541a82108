import { useEffect, useRef } from 'react';
import { useNavigate } from 'react-router';
import { App, Badge, Button, Tooltip } from 'antd';
import { BellOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { useConfirmations } from './useConfirmations.ts';

/** For admins: how many commands wait for a decision, with a notification when a new one arrives. */
export function PendingConfirmationsBell() {
  const { t } = useTranslation();
  const { notification } = App.useApp();
  const navigate = useNavigate();
  const q = useConfirmations();
  const seen = useRef<Set<string> | null>(null);
  const items = q.data ?? [];

  useEffect(() => {
    if (!q.data) return;
    const ids = new Set(q.data.map((c) => c.id));
    if (seen.current) {
      for (const c of q.data) {
        if (seen.current.has(c.id)) continue;
        notification.warning({
          key: c.id,
          title: t('confirmations.newTitle'),
          description: t('confirmations.newText', { user: c.username, asset: c.assetName, command: c.command }),
          onClick: () => navigate('/command-filters'),
        });
      }
    }
    seen.current = ids;
  }, [q.data, notification, navigate, t]);

  return (
    <Tooltip title={t('confirmations.title')}>
      <Badge count={items.length} size="small">
        <Button type="text" icon={<BellOutlined />} aria-label={`${t('confirmations.title')}: ${items.length}`} data-testid="pending-confirmations" onClick={() => navigate('/command-filters')} />
      </Badge>
    </Tooltip>
  );
}
