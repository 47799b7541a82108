import { App, Card, Space, Table, Typography } from 'antd';
import { Link } from 'react-router';
import { CheckOutlined, CloseOutlined } from '@ant-design/icons';
import { useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { commandFiltersService, type Confirmation } from '../../services/commandFilters.ts';
import { errorText } from '../../components/apiErrors.ts';
import { formatTime } from '../../i18n/format.ts';
import { CONFIRMATIONS_KEY, useConfirmations } from './useConfirmations.ts';
import { RowActions } from '../../components/RowActions.tsx';
import { useMe } from '../session/useSession.ts';

/** Commands an operator is waiting on: approve lets the line run, reject cancels it. */
export function ConfirmationsPanel() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const q = useConfirmations();
  // The server refuses a decision on one's own command (four eyes); the buttons say so first.
  const me = useMe().data;

  const decide = async (c: Confirmation, approve: boolean) => {
    try {
      await (approve ? commandFiltersService.approve(c.id) : commandFiltersService.reject(c.id));
      void message.success(approve ? t('confirmations.approved') : t('confirmations.rejected'));
    } catch (e) { void message.error(errorText(e)); }
    await qc.invalidateQueries({ queryKey: CONFIRMATIONS_KEY });
  };

  return (
    <Card size="small" title={t('confirmations.title')} id="confirmations" extra={<Typography.Text type="secondary">{t('confirmations.polling')}</Typography.Text>}>
      <Table<Confirmation>
        rowKey="id"
        size="small"
        loading={q.isLoading}
        dataSource={q.data ?? []}
        pagination={false}
        locale={{ emptyText: t('confirmations.empty') }}
        scroll={{ x: 800 }}
        columns={[
          { title: t('sessions.time'), dataIndex: 'createdAt', width: 170, render: formatTime },
          { title: t('sessions.user'), dataIndex: 'username' },
          { title: t('sessions.asset'), dataIndex: 'assetName' },
          { title: t('sessions.systemUser'), dataIndex: 'systemUsername' },
          {
            title: t('sessions.command'), dataIndex: 'command',
            // A job's request covers all the assets it holds: the link shows the job waiting.
            render: (v: string, c: Confirmation) => (
              <Space size={4} wrap>
                <Typography.Text code className="mono">{v}</Typography.Text>
                {c.jobId ? <Link to={`/jobs/${c.jobId}`} data-testid="confirmation-job">{t('confirmations.fromJob')}</Link> : null}
              </Space>
            ),
          },
          { title: t('confirmations.filter'), dataIndex: 'filter' },
          { title: t('confirmations.expires'), dataIndex: 'expiresAt', width: 170, render: formatTime },
          {
            title: t('common.actions'), key: 'ops', width: 200, fixed: 'right' as const,
            render: (_: unknown, c: Confirmation) => {
              // As the server decides: by id (a username can change while the command waits), or by name.
              const own = !!me && ((c.userId !== null && c.userId === me.id) || c.username === me.username);
              return (
                <Space direction="vertical" size={0}>
                  <RowActions name={`${c.username} ${c.command}`} actions={[
                    { key: 'approve', label: t('confirmations.approve'), icon: <CheckOutlined />, primary: true, withText: true, disabled: own, onClick: () => decide(c, true) },
                    { key: 'reject', label: t('confirmations.reject'), icon: <CloseOutlined />, danger: true, withText: true, disabled: own, onClick: () => decide(c, false) },
                  ]} />
                  {own ? <Typography.Text type="secondary" data-testid="confirmation-own">{t('confirmations.own')}</Typography.Text> : null}
                </Space>
              );
            },
          },
        ]}
      />
    </Card>
  );
}
