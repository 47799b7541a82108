import { useEffect, useMemo, useRef, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { Alert, Button, Card, Col, Descriptions, Empty, Flex, Input, Result, Row, Select, Space, Spin, Tag, Tooltip, Typography } from 'antd';
import { ArrowLeftOutlined, CaretRightOutlined, EyeOutlined, FullscreenOutlined, PauseOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import type { CommandRecord } from '../../services/sessions.ts';
import { Page } from '../../components/Page.tsx';
import { errorText } from '../../components/apiErrors.ts';
import { formatTime } from '../../i18n/format.ts';
import { Timeline } from './timeline.ts';
import { clock } from './clock.ts';
import { AsciinemaPlayer, type PlayerHandle } from './AsciinemaPlayer.tsx';
import { playbackQueries } from './playbackQueries.ts';
import { wasmAllowed } from './wasmSupport.ts';
import { enumText } from '../../components/apiErrors.ts';

const SPEEDS = [0.5, 1, 2, 4, 8, 16];
const IDLE_LIMITS = [0, 1, 2, 5, 10];

function CommandList({ commands, current, onPick }: { commands: CommandRecord[]; current: string | null; onPick: (c: CommandRecord) => void }) {
  const { t } = useTranslation();
  const [filter, setFilter] = useState('');
  const shown = filter ? commands.filter((c) => c.input.toLowerCase().includes(filter.toLowerCase())) : commands;
  const currentRow = useRef<HTMLButtonElement | null>(null);
  useEffect(() => { currentRow.current?.scrollIntoView({ block: 'nearest' }); }, [current]);
  return (
    <Flex vertical gap={8} style={{ height: '100%' }}>
      <Input.Search aria-label={t('playback.filterCommands')} placeholder={t('playback.filterCommands')} allowClear onChange={(e) => setFilter(e.target.value)} />
      {shown.length === 0 ? <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={commands.length ? t('common.noMatch') : t('sessions.noCommands')} /> : (
        <ol className="playback-commands" aria-label={t('sessions.commands')}>
          {shown.map((c) => (
            <li key={c.id}>
              <button
                type="button"
                ref={c.id === current ? currentRow : undefined}
                className={c.id === current ? 'playback-command current' : 'playback-command'}
                aria-current={c.id === current ? 'true' : undefined}
                onClick={() => onPick(c)}
                title={t('playback.jumpTo', { time: clock(c.offsetMs) })}
              >
                <span className="playback-command-time">{clock(c.offsetMs)}</span>
                <span className="mono">{c.input}</span>
                {c.risk && c.risk !== 'normal' && c.risk !== 'none' ? <Tag color="red" style={{ marginInlineStart: 'auto' }}>{enumText('risk', c.risk)}</Tag> : null}
              </button>
            </li>
          ))}
        </ol>
      )}
    </Flex>
  );
}

/** Replays a session's recording with asciinema-player, its commands beside it; a command click seeks to its moment. */
export function PlaybackPage() {
  const { id = '' } = useParams();
  const [params] = useSearchParams();
  const { t } = useTranslation();
  const session = useQuery(playbackQueries.session(id));
  const commands = useQuery(playbackQueries.commands(id));
  const hasRecording = session.data ? !!session.data.recordingUrl : true;
  // The recording is fetched at once, beside the session: its URL only needs the id.
  const cast = useQuery(playbackQueries.recording(id));
  const wasm = wasmAllowed();
  const [speed, setSpeed] = useState(1);
  const [idle, setIdle] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [ready, setReady] = useState(false);
  const [nowMs, setNowMs] = useState(0);
  const player = useRef<PlayerHandle>(null);
  const idleLimit = idle > 0 ? idle : null;
  const timeline = useMemo(() => (cast.data ? new Timeline(cast.data.pauses, idleLimit === null ? null : idleLimit * 1000) : null), [cast.data, idleLimit]);
  // Where to open: ?t= (seconds of the recording), then wherever the previous player was.
  const initial = Number(params.get('t') ?? '0');
  const resumeAt = useRef(Number.isFinite(initial) ? Math.max(0, initial) * 1000 : 0);
  const startAt = timeline ? timeline.toPlayer(resumeAt.current) / 1000 : 0;

  useEffect(() => {
    if (!ready || !timeline) return;
    const timer = setInterval(() => {
      const p = player.current;
      if (p) setNowMs(timeline.toOriginal(p.currentTime() * 1000));
    }, 250);
    return () => clearInterval(timer);
  }, [ready, timeline]);

  const list = useMemo(() => commands.data?.items ?? [], [commands.data]);
  const current = useMemo(() => {
    let found: CommandRecord | null = null;
    for (const c of list) if (c.offsetMs <= nowMs + 50) found = c;
    return found?.id ?? null;
  }, [list, nowMs]);

  const seekTo = (ms: number) => {
    if (!timeline) return;
    setNowMs(ms);
    void player.current?.seek(timeline.toPlayer(ms) / 1000);
  };
  /** Speed and idle limit re-create the player: keep the place. */
  const change = (apply: () => void) => {
    resumeAt.current = nowMs;
    setReady(false);
    setPlaying(false);
    apply();
  };

  if (session.isLoading) return <Spin style={{ display: 'block', margin: 48 }} />;
  if (session.isError || !session.data) return <Result status="404" title={errorText(session.error)} extra={<Link to="/sessions">{t('playback.back')}</Link>} />;
  const s = session.data;

  let body: React.ReactNode;
  if (!hasRecording) body = <Empty description={t('playback.noRecording')} />;
  else if (!wasm) body = <Alert type="error" showIcon title={t('playback.wasmBlocked')} description={t('playback.wasmBlockedHint')} />;
  else if (cast.isError) body = <Alert type="error" showIcon title={t('playback.loadFailed')} description={errorText(cast.error)} />;
  else if (cast.isLoading || !cast.data) body = <Flex vertical align="center" gap={8} style={{ padding: 48 }}><Spin /><Typography.Text type="secondary">{t('playback.loading')}</Typography.Text></Flex>;
  else {
    body = (
      <Flex vertical gap={12}>
        <AsciinemaPlayer
          ref={player}
          recording={cast.data.player}
          speed={speed}
          idleTimeLimit={idleLimit}
          startAt={startAt}
          onReady={() => { performance.mark('playback:ready'); setReady(true); }}
          onPlayingChange={setPlaying}
        />
        <Flex gap={12} wrap align="center">
          <Button
            type="primary"
            icon={playing ? <PauseOutlined /> : <CaretRightOutlined />}
            disabled={!ready}
            onClick={() => (playing ? player.current?.pause() : player.current?.play())}
          >{playing ? t('playback.pause') : t('playback.play')}</Button>
          <label htmlFor="playback-speed">{t('playback.speed')}</label>
          <Select id="playback-speed" aria-label={t('playback.speed')} value={speed} style={{ width: 90 }} onChange={(v) => change(() => setSpeed(v))} options={SPEEDS.map((x) => ({ value: x, label: `${x}×` }))} />
          <label htmlFor="playback-idle">{t('playback.idleLimit')}</label>
          <Select id="playback-idle" aria-label={t('playback.idleLimit')} value={idle} style={{ width: 130 }} onChange={(v) => change(() => setIdle(v))}
            options={IDLE_LIMITS.map((x) => ({ value: x, label: x === 0 ? t('playback.idleOff') : t('playback.idleSeconds', { n: x }) }))} />
          <Tooltip title={t('playback.fullscreen')}>
            <Button icon={<FullscreenOutlined />} aria-label={t('playback.fullscreen')} onClick={() => player.current?.fullscreen()} />
          </Tooltip>
          <Typography.Text className="mono" data-testid="playback-position">{clock(nowMs)} / {clock(cast.data.durationMs)}</Typography.Text>
        </Flex>
      </Flex>
    );
  }

  return (
    <Page
      title={t('playback.title', { user: s.user.username, asset: s.asset.name })}
      extra={(
        <>
          <Link to="/sessions"><Button icon={<ArrowLeftOutlined />}>{t('playback.back')}</Button></Link>
          {s.active ? <Link to={`/sessions/${s.id}/watch`}><Button icon={<EyeOutlined />}>{t('live.watch')}</Button></Link> : null}
          <Link to={`/sessions/${s.id}`}><Button>{t('sessionDetail.open')}</Button></Link>
        </>
      )}
    >
      <Space orientation="vertical" size={16} style={{ width: '100%' }}>
        <Card size="small">
          <Descriptions size="small" column={{ xs: 1, md: 3 }}>
            <Descriptions.Item label={t('sessions.user')}>{s.user.username}</Descriptions.Item>
            <Descriptions.Item label={t('sessions.asset')}>{s.asset.name}</Descriptions.Item>
            <Descriptions.Item label={t('sessions.systemUser')}>{s.systemUser.username}</Descriptions.Item>
            <Descriptions.Item label={t('sessions.startedAt')}>{formatTime(s.startedAt)}</Descriptions.Item>
            <Descriptions.Item label={t('sessions.endedAt')}>{formatTime(s.endedAt)}</Descriptions.Item>
            <Descriptions.Item label={t('sessions.status')}><Tag color={s.active ? 'green' : undefined}>{enumText('sessionStatus', s.status)}</Tag></Descriptions.Item>
          </Descriptions>
          {s.recordingIncomplete ? <Alert type="warning" showIcon title={t('sessions.recordingIncomplete')} description={t('sessions.recordingIncompleteHint')} /> : null}
        </Card>
        <Row gutter={16}>
          <Col xs={24} xl={16}><Card size="small">{body}</Card></Col>
          <Col xs={24} xl={8}>
            <Card size="small" title={t('sessions.commands')} loading={commands.isLoading} styles={{ body: { maxHeight: 560, overflow: 'auto' } }}>
              <CommandList commands={list} current={current} onPick={(c) => seekTo(c.offsetMs)} />
            </Card>
          </Col>
        </Row>
      </Space>
    </Page>
  );
}
