import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { Alert, App, Badge, Button, Card, Descriptions, Popconfirm, Result, Space, Spin } from 'antd';
import { ArrowLeftOutlined, PlayCircleOutlined, StopOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { playbackPath, sessionPath, sessionsService } from '../../services/sessions.ts';
import { Page } from '../../components/Page.tsx';
import { errorText } from '../../components/apiErrors.ts';
import { formatTime } from '../../i18n/format.ts';
import { LiveTerminal, type LiveState } from './LiveTerminal.tsx';

/** Watches a live session read-only, with a Terminate button. */
export function LiveSessionPage() {
  const { id = '' } = useParams();
  const { t } = useTranslation();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const session = useQuery({ queryKey: ['sessions', id], queryFn: () => sessionsService.get(id) });
  const [state, setState] = useState<LiveState>('connecting');
  const [terminating, setTerminating] = useState(false);

  if (session.isLoading) return <Spin style={{ display: 'block', margin: 48 }} />;
  if (session.isError || !session.data) return <Result status="404" title={errorText(session.error)} extra={<Link to="/sessions">{t('playback.back')}</Link>} />;
  const s = session.data;

  const terminate = async () => {
    setTerminating(true);
    try {
      await sessionsService.terminate(s.id);
      void message.success(t('sessions.terminated'));
      await qc.invalidateQueries({ queryKey: ['sessions'] });
    } catch (e) { void message.error(errorText(e)); } finally { setTerminating(false); }
  };

  const status = state === 'live'
    ? <Badge status="processing" text={t('live.live')} />
    : state === 'connecting' ? <Badge status="default" text={t('live.connecting')} /> : <Badge status="error" text={t('live.ended')} />;

  return (
    <Page
      title={t('live.title', { user: s.user.username, asset: s.asset.name })}
      extra={(
        <>
          <Link to="/sessions"><Button icon={<ArrowLeftOutlined />}>{t('playback.back')}</Button></Link>
          {s.recordingUrl ? <Link to={playbackPath(s.id)}><Button icon={<PlayCircleOutlined />}>{t('playback.open')}</Button></Link> : null}
          <Link to={sessionPath(s.id)}><Button>{t('sessionDetail.open')}</Button></Link>
          <Popconfirm title={t('sessions.terminateConfirm')} okText={t('sessions.terminate')} okButtonProps={{ danger: true }} cancelText={t('common.cancel')} onConfirm={terminate} disabled={state === 'ended'}>
            <Button danger icon={<StopOutlined />} loading={terminating} disabled={state === 'ended'}>{t('sessions.terminate')}</Button>
          </Popconfirm>
        </>
      )}
    >
      <Space orientation="vertical" size={16} style={{ width: '100%' }}>
        <Card size="small">
          <Descriptions size="small" column={{ xs: 1, md: 4 }}>
            <Descriptions.Item label={t('sessions.user')}>{s.user.username}</Descriptions.Item>
            <Descriptions.Item label={t('sessions.asset')}>{s.asset.name}</Descriptions.Item>
            <Descriptions.Item label={t('sessions.systemUser')}>{s.systemUser.username}</Descriptions.Item>
            <Descriptions.Item label={t('sessions.startedAt')}>{formatTime(s.startedAt)}</Descriptions.Item>
            <Descriptions.Item label={t('sessions.status')}><span data-testid="live-status" data-state={state}>{status}</span></Descriptions.Item>
          </Descriptions>
        </Card>
        {state === 'ended' ? <Alert type="warning" showIcon role="status" title={t('live.sessionEnded')} /> : <Alert type="info" showIcon title={t('live.readOnly')} />}
        <Card size="small"><LiveTerminal sessionId={s.id} onState={setState} /></Card>
      </Space>
    </Page>
  );
}
