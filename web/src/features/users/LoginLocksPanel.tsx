import { App, Button, Card, Table } from 'antd';
import { useTranslation } from 'react-i18next';
import type { LoginLock } from '../../services/users.ts';
import { errorText } from '../../components/apiErrors.ts';
import { formatTime } from '../../i18n/format.ts';
import { useLoginLocks } from './useUsers.ts';

/**
 * Failed logins lock a (username, source address) pair, not the account: this lists the pairs
 * locked now and lets an admin clear one. Shown only when there is something to clear.
 */
export function LoginLocksPanel() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const { locks, clear } = useLoginLocks();
  const items = locks.data ?? [];
  if (items.length === 0) return null;
  const onClear = async (l: LoginLock) => {
    try {
      await clear.mutateAsync({ username: l.username, source: l.source });
      void message.success(t('users.loginLocks.cleared', { name: l.username, source: l.source }));
    } catch (e) {
      void message.error(errorText(e));
    }
  };
  return (
    <Card size="small" title={t('users.loginLocks.title')} style={{ marginBottom: 16 }} aria-label={t('users.loginLocks.title')}>
      <Table<LoginLock>
        size="small"
        rowKey={(l) => `${l.username}|${l.source}`}
        pagination={false}
        dataSource={items}
        columns={[
          { title: t('users.username'), dataIndex: 'username' },
          { title: t('users.loginLocks.source'), dataIndex: 'source' },
          { title: t('users.loginLocks.failures'), dataIndex: 'failures' },
          { title: t('users.loginLocks.until'), dataIndex: 'lockedUntil', render: (v: string) => formatTime(v) },
          {
            title: t('common.actions'), key: 'actions',
            render: (_, l) => (
              <Button size="small" aria-label={`${t('users.loginLocks.clear')} ${l.username} ${l.source}`} onClick={() => void onClear(l)}>
                {t('users.loginLocks.clear')}
              </Button>
            ),
          },
        ]}
      />
    </Card>
  );
}
