import { Link, useParams } from 'react-router';
import { Alert, Button, Card, Descriptions, Result, Space, Spin, Table, Tag, Typography, type TableColumnsType } from 'antd';
import { ArrowLeftOutlined, DownloadOutlined, EyeOutlined, PlayCircleOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { isTransferSession, playbackPath, sessionPath, sessionsService, type CommandRecord, type Session } from '../../services/sessions.ts';
import type { FileOperation, FileTransfer } from '../../services/audit.ts';
import { Page } from '../../components/Page.tsx';
import { errorText } from '../../components/apiErrors.ts';
import { formatBytes, formatDuration, formatTime } from '../../i18n/format.ts';
import { clock } from '../playback/clock.ts';
import { enumText } from '../../components/apiErrors.ts';

const risky = (risk: string) => !!risk && risk !== 'normal' && risk !== 'none';

function Facts({ s }: { s: Session }) {
  const { t } = useTranslation();
  const end = s.endedAt ? Date.parse(s.endedAt) : Date.now();
  return (
    <Descriptions size="small" column={{ xs: 1, md: 2, xl: 3 }} data-testid="session-facts">
      <Descriptions.Item label={t('sessions.user')}>{s.user.username}</Descriptions.Item>
      <Descriptions.Item label={t('sessions.asset')}>{s.asset.id ? <Link to={`/assets/${s.asset.id}`}>{s.asset.name}</Link> : s.asset.name}</Descriptions.Item>
      <Descriptions.Item label={t('sessions.systemUser')}>{s.systemUser.username}</Descriptions.Item>
      <Descriptions.Item label={t('sessions.kind')}><Tag>{enumText('sessionKind', s.kind)}</Tag></Descriptions.Item>
      <Descriptions.Item label={t('common.status')}><Tag color={s.active ? 'green' : undefined}>{enumText('sessionStatus', s.status)}</Tag></Descriptions.Item>
      <Descriptions.Item label={t('sessions.clientAddress')}>{s.clientAddress}</Descriptions.Item>
      <Descriptions.Item label={t('sessions.startedAt')}>{formatTime(s.startedAt)}</Descriptions.Item>
      <Descriptions.Item label={t('sessions.endedAt')}>{formatTime(s.endedAt)}</Descriptions.Item>
      <Descriptions.Item label={t('sessions.duration')}>{s.startedAt ? formatDuration(end - Date.parse(s.startedAt)) : '—'}</Descriptions.Item>
      <Descriptions.Item label={t('sessionDetail.bytes')}>{`↑ ${formatBytes(s.bytesIn)} · ↓ ${formatBytes(s.bytesOut)}`}</Descriptions.Item>
      {s.endReason ? <Descriptions.Item label={t('sessionDetail.endReason')}>{s.endReason}</Descriptions.Item> : null}
      {s.terminatedBy ? <Descriptions.Item label={t('sessionDetail.terminatedBy')}>{s.terminatedBy}</Descriptions.Item> : null}
    </Descriptions>
  );
}

/** A titled card holding one table of the session's rows (its commands, its transfers). */
function CardTable<T extends { id: string }>({ title, loading, rows, empty, columns, rowClassName }: {
  title: string; loading: boolean; rows: T[] | undefined; empty: string; columns: TableColumnsType<T>; rowClassName?: (row: T) => string;
}) {
  return (
    <Card size="small" title={title}>
      <Table<T>
        rowKey="id"
        size="small"
        aria-label={title}
        loading={loading}
        dataSource={rows ?? []}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        locale={{ emptyText: empty }}
        {...(rowClassName ? { rowClassName } : {})}
        columns={columns}
      />
    </Card>
  );
}

function Commands({ s }: { s: Session }) {
  const { t } = useTranslation();
  const q = useQuery({ queryKey: ['sessions', s.id, 'commands'], queryFn: () => sessionsService.commands(s.id) });
  return (
    <CardTable<CommandRecord>
      title={t('sessions.commands')} loading={q.isLoading} rows={q.data?.items} empty={t('sessions.noCommands')}
      rowClassName={(c) => (risky(c.risk) ? 'row-risky' : '')}
      columns={[
        { title: t('playback.offset'), dataIndex: 'offsetMs', width: 90, render: (v: number) => (s.recordingUrl ? <Link to={playbackPath(s.id, v / 1000)}>{clock(v)}</Link> : clock(v)) },
        { title: t('sessions.command'), dataIndex: 'input', render: (v: string) => <Typography.Text code className="mono">{v}</Typography.Text> },
        { title: t('sessions.risk'), dataIndex: 'risk', width: 100, render: (v: string) => (risky(v) ? <Tag color="red">{enumText('risk', v)}</Tag> : <Tag>{enumText('risk', v)}</Tag>) },
      ]}
    />
  );
}

/** The files moved in this session and in the transfer sessions folded under it (each row says which). */
function Transfers({ s }: { s: Session }) {
  const { t } = useTranslation();
  const q = useQuery({ queryKey: ['sessions', s.id, 'transfers'], queryFn: () => sessionsService.transfers(s.id) });
  const kindOf = new Map(s.folded.map((c) => [c.id, c.kind]));
  return (
    <CardTable<FileTransfer>
      title={t('transfers.title')} loading={q.isLoading} rows={q.data?.items} empty={t('sessionDetail.noTransfers')}
      columns={[
        { title: t('audit.time'), dataIndex: 'createdAt', width: 170, render: formatTime },
        { title: t('transfers.operation'), dataIndex: 'operation', width: 130, render: (v: string) => <Tag>{t(`transfers.operations.${v as FileOperation}`, v)}</Tag> },
        { title: t('transfers.path'), key: 'path', render: (_, f) => <Typography.Text className="mono">{f.path}{f.targetPath ? ` → ${f.targetPath}` : ''}</Typography.Text> },
        { title: t('transfers.size'), dataIndex: 'size', width: 100, render: formatBytes },
        { title: t('audit.result'), dataIndex: 'ok', width: 100, render: (v: boolean) => (v ? <Tag color="green">{t('transfers.allowed')}</Tag> : <Tag color="red">{t('transfers.refused')}</Tag>) },
        { title: t('transfers.message'), dataIndex: 'message', ellipsis: true },
        ...(s.folded.length > 0 ? [{
          title: t('transfers.session'), dataIndex: 'sessionId', width: 140,
          render: (v: string | null) => (!v || v === s.id ? t('sessionDetail.thisSession') : <Link to={sessionPath(v)}>{enumText('sessionKind', kindOf.get(v) ?? 'sftp')}</Link>),
        }] : []),
      ]}
    />
  );
}

/** One session in one place: its facts, its recording, the commands typed and the files moved. */
export function SessionDetailPage() {
  const { id = '' } = useParams();
  const { t } = useTranslation();
  const q = useQuery({ queryKey: ['sessions', 'one', id], queryFn: () => sessionsService.get(id), refetchInterval: (x) => (x.state.data?.active ? 5000 : false) });
  if (q.isLoading) return <Spin style={{ display: 'block', margin: 48 }} />;
  if (q.isError || !q.data) return <Result status="404" title={errorText(q.error)} extra={<Link to="/sessions">{t('playback.back')}</Link>} />;
  const s = q.data;
  const transferOnly = isTransferSession(s);
  return (
    <Page
      title={t('sessionDetail.title', { user: s.user.username, asset: s.asset.name })}
      extra={<Link to="/sessions"><Button icon={<ArrowLeftOutlined />}>{t('playback.back')}</Button></Link>}
    >
      <Space orientation="vertical" size={16} style={{ width: '100%' }}>
        {s.foldedInto ? (
          <Alert type="info" showIcon data-testid="folded-into" title={t('sessionDetail.foldedInto')}
            action={<Link to={sessionPath(s.foldedInto)}><Button size="small">{t('sessionDetail.openShell')}</Button></Link>} />
        ) : null}
        <Card size="small"><Facts s={s} /></Card>
        {transferOnly ? null : (
          <Card size="small" title={t('sessions.recording')}>
            {s.recordingUrl ? (
              <Space wrap>
                <Link to={playbackPath(s.id)}><Button type="primary" icon={<PlayCircleOutlined />}>{t('playback.play')}</Button></Link>
                {s.active ? <Link to={`/sessions/${s.id}/watch`}><Button icon={<EyeOutlined />}>{t('live.watch')}</Button></Link> : null}
                <Button icon={<DownloadOutlined />} href={s.recordingUrl} download={`${s.id}.cast`}>{t('sessionDetail.download')}</Button>
                {s.recordingIncomplete ? <Alert type="warning" showIcon title={t('sessions.recordingIncompleteHint')} /> : null}
              </Space>
            ) : <Typography.Text type="secondary">{t('playback.noRecording')}</Typography.Text>}
          </Card>
        )}
        {transferOnly ? null : <Commands s={s} />}
        {transferOnly || s.transfers > 0 || s.folded.length > 0 ? <Transfers s={s} /> : null}
      </Space>
    </Page>
  );
}
