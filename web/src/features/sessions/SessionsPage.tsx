import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { App, Drawer, Flex, Input, Space, Table, Tabs, Tag, Tooltip, Typography } from 'antd';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { EyeOutlined, FileTextOutlined, PlayCircleOutlined } from '@ant-design/icons';
import { exportUrl, isTransferSession, playbackPath, sessionPath, sessionsService, type CommandRecord, type Session, type SessionListParams } from '../../services/sessions.ts';
import { clock } from '../playback/clock.ts';
import { Page } from '../../components/Page.tsx';
import { usePaging } from '../../components/usePaging.ts';
import { enumText, errorText } from '../../components/apiErrors.ts';
import { formatDuration, formatTime } from '../../i18n/format.ts';
import { CsvExportButton } from '../../components/CsvExportButton.tsx';
import { RowActions } from '../../components/RowActions.tsx';
import { DateRangeFilter, rangeFromUrl, rangeParams, type DateRange } from '../../components/DateRangeFilter.tsx';

const KEY = ['sessions'] as const;

/** A row of the list: a session, with the transfer sessions folded under it as its children. */
type SessionRow = Session & { children?: Session[] };

function CommandsDrawer({ session, onClose }: { session: Session | null; onClose: () => void }) {
  const { t } = useTranslation();
  const q = useQuery({ queryKey: [...KEY, session?.id, 'commands'], queryFn: () => sessionsService.commands(session!.id), enabled: !!session });
  return (
    <Drawer open={!!session} size={760} title={session ? `${t('sessions.commands')} — ${session.user.username} → ${session.asset.name}` : ''} onClose={onClose} destroyOnHidden>
      <Table<CommandRecord>
        rowKey="id"
        size="small"
        loading={q.isLoading}
        dataSource={q.data?.items ?? []}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        locale={{ emptyText: t('sessions.noCommands') }}
        columns={[
          { title: t('sessions.time'), dataIndex: 'createdAt', width: 170, render: formatTime },
          { title: t('playback.offset'), dataIndex: 'offsetMs', width: 90, render: (v: number) => (session?.recordingUrl ? <Link to={playbackPath(session.id, v / 1000)}>{clock(v)}</Link> : clock(v)) },
          { title: t('sessions.command'), dataIndex: 'input', render: (v: string) => <Typography.Text code className="mono">{v}</Typography.Text> },
          { title: t('sessions.risk'), dataIndex: 'risk', width: 100, render: (v: string) => (v && v !== 'normal' && v !== 'none' ? <Tag color="red">{enumText('risk', v)}</Tag> : <Tag>{enumText('risk', v)}</Tag>) },
        ]}
      />
    </Drawer>
  );
}

function SessionTable({ online }: { online: boolean }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const paging = usePaging();
  // Links from the dashboard and elsewhere carry their filters (?user=…&asset=…&from=…).
  const [url] = useSearchParams();
  const [user, setUser] = useState(online ? '' : url.get('user') ?? '');
  const [asset, setAsset] = useState(online ? '' : url.get('asset') ?? '');
  const [search, setSearch] = useState('');
  const [range, setRange] = useState<DateRange>(() => (online ? null : rangeFromUrl(url)));
  const [commandsOf, setCommandsOf] = useState<Session | null>(null);
  const params: SessionListParams = {
    limit: paging.params.limit, offset: paging.params.offset, active: online ? true : undefined, fold: true,
    user: user || undefined, asset: asset || undefined, search: search || undefined,
    ...(online ? {} : rangeParams(range)),
  };
  const list = useQuery({
    queryKey: [...KEY, params], queryFn: () => sessionsService.list(params), placeholderData: keepPreviousData,
    refetchInterval: online ? 5000 : false,
  });

  const terminate = async (s: Session) => {
    try {
      await sessionsService.terminate(s.id);
      void message.success(t('sessions.terminated'));
      await qc.invalidateQueries({ queryKey: KEY });
    } catch (e) { void message.error(errorText(e)); }
  };

  const now = Date.now();
  // Transfer sessions folded under a shell (the server's rule) are its expandable child rows.
  const rows: SessionRow[] = (list.data?.items ?? []).map((x) => (x.folded.length > 0 ? { ...x, children: x.folded } : x));
  return (
    <>
      <Flex gap={12} wrap style={{ marginBottom: 16 }}>
        <Input.Search aria-label={t('common.search')} placeholder={t('common.searchPlaceholder')} allowClear style={{ width: 200 }} onSearch={(v) => { setSearch(v.trim()); paging.resetPage(); }} />
        <Input.Search aria-label={t('sessions.filterUser')} placeholder={t('sessions.filterUser')} defaultValue={user} allowClear style={{ width: 180 }} onSearch={(v) => { setUser(v.trim()); paging.resetPage(); }} />
        <Input.Search aria-label={t('sessions.filterAsset')} placeholder={t('sessions.filterAsset')} defaultValue={asset} allowClear style={{ width: 180 }} onSearch={(v) => { setAsset(v.trim()); paging.resetPage(); }} />
        {online ? null : <DateRangeFilter value={range} onChange={(v) => { setRange(v); paging.resetPage(); }} />}
        {online ? null : <CsvExportButton href={exportUrl('/sessions', params)} />}
      </Flex>
      <Table<SessionRow>
        rowKey="id"
        size="small"
        loading={list.isLoading}
        dataSource={rows}
        pagination={paging.pagination(list.data?.total)}
        locale={{ emptyText: t('common.empty') }}
        scroll={{ x: 1100 }}
        columns={[
          { title: t('sessions.user'), key: 'user', width: 150, render: (_, s) => s.user.username },
          { title: t('sessions.asset'), key: 'asset', render: (_, s) => s.asset.name },
          { title: t('sessions.systemUser'), key: 'su', render: (_, s) => s.systemUser.username },
          { title: t('sessions.kind'), dataIndex: 'kind', width: 170, render: (v: string, s: Session) => (
            <Space size={4} wrap>
              <Tag>{enumText('sessionKind', v)}</Tag>
              {s.transfers > 0 ? <Link to={sessionPath(s.id)}><Tag color="blue">{t('sessionDetail.transferCount', { count: s.transfers })}</Tag></Link> : null}
              {s.folded.length > 0 ? <Tag color="geekblue">{t('sessionDetail.foldedCount', { count: s.folded.length })}</Tag> : null}
            </Space>
          ) },
          { title: t('sessions.clientAddress'), dataIndex: 'clientAddress' },
          { title: t('sessions.startedAt'), dataIndex: 'startedAt', render: formatTime },
          online
            ? { title: t('sessions.duration'), key: 'duration', render: (_: unknown, s: Session) => formatDuration(now - new Date(s.startedAt ?? now).getTime()) }
            : { title: t('sessions.endedAt'), dataIndex: 'endedAt', render: formatTime },
          { title: t('sessions.status'), key: 'status', render: (_: unknown, s: Session) => (
            <Space size={4}>
              <Tag color={s.active ? 'green' : undefined}>{enumText('sessionStatus', s.status)}</Tag>
              {s.recordingIncomplete ? <Tooltip title={t('sessions.recordingIncompleteHint')}><Tag color="orange">{t('sessions.recordingIncomplete')}</Tag></Tooltip> : null}
            </Space>
          ) },
          {
            title: t('common.actions'), key: 'ops', fixed: 'right' as const, width: 340,
            render: (_: unknown, s: Session) => (
              <RowActions name={`${s.user.username} → ${s.asset.name}`} actions={[
                ...(s.active && !isTransferSession(s) ? [{ key: 'watch', label: t('live.watch'), icon: <EyeOutlined />, primary: true, withText: true, to: `/sessions/${s.id}/watch` }] : []),
                { key: 'detail', label: t('sessionDetail.open'), icon: <FileTextOutlined />, withText: true, to: sessionPath(s.id) },
                // A transfer-only session has no screen and no commands: its detail page lists its transfers.
                ...(s.recordingUrl && !isTransferSession(s) ? [{ key: 'play', label: t('playback.play'), icon: <PlayCircleOutlined />, withText: true, to: playbackPath(s.id) }] : []),
                ...(isTransferSession(s) ? [] : [{ key: 'commands', label: t('sessions.commands'), withText: true, onClick: () => setCommandsOf(s) }]),
                ...(s.active ? [{ key: 'terminate', label: t('sessions.terminate'), danger: true, withText: true, onClick: () => terminate(s), confirm: { title: t('sessions.terminateConfirm'), okText: t('sessions.terminate') } }] : []),
              ]} />
            ),
          },
        ]}
      />
      <CommandsDrawer session={commandsOf} onClose={() => setCommandsOf(null)} />
    </>
  );
}

/** Online and past sessions with filters; Watch opens the live view, Play the recording. */
export function SessionsPage() {
  const { t } = useTranslation();
  const [url] = useSearchParams();
  return (
    <Page title={t('sessions.title')}>
      <Tabs
        destroyOnHidden
        defaultActiveKey={url.get('tab') === 'history' ? 'history' : 'online'}
        items={[
          { key: 'online', label: t('sessions.online'), children: <SessionTable online /> },
          { key: 'history', label: t('sessions.history'), children: <SessionTable online={false} /> },
        ]}
      />
    </Page>
  );
}
