import { useEffect, useRef, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { App, Button, Card, Descriptions, Popconfirm, Result, Segmented, Space, Spin, Table, Tag, Tooltip, Typography } from 'antd';
import { ArrowLeftOutlined, RedoOutlined, StopOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { isRunning, jobsService, type Job, type JobOutcome, type JobResult } from '../../services/jobs.ts';
import { Page } from '../../components/Page.tsx';
import { errorText } from '../../components/apiErrors.ts';
import { formatDuration, formatTime } from '../../i18n/format.ts';
import { JobStatusTag } from './JobStatusTag.tsx';
import { jobSummary } from './JobsPage.tsx';
import { JobProgress, JobSummaryTags } from './JobSummaryBar.tsx';

type Show = 'all' | 'failed' | 'ok';
const OUTCOME_COLORS: Record<JobOutcome, string> = { ok: 'green', failed: 'red', timedOut: 'orange', canceled: 'default', running: 'processing' };
const shown = (show: Show, r: JobResult) => (show === 'all' ? true : show === 'ok' ? r.outcome === 'ok' : r.outcome !== 'ok' && r.outcome !== 'running');

/** The job's log, following its end while it grows. */
function JobLog({ text }: { text: string }) {
  const { t } = useTranslation();
  const ref = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [text]);
  return <pre ref={ref} className="job-log mono" aria-label={t('jobs.log')} data-testid="job-log">{text || t('jobs.noLog')}</pre>;
}

export function useJob(id: string) {
  return useQuery({ queryKey: ['jobs', 'one', id], queryFn: () => jobsService.get(id), refetchInterval: (q) => (q.state.data && !isRunning(q.state.data) ? false : 1000) });
}

/** One job: status, a progress bar, results per asset and the log, refreshed every second while it runs; cancel. */
export function JobDetailPage() {
  const { id = '' } = useParams();
  const { t } = useTranslation();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const job = useJob(id);
  const navigate = useNavigate();
  const [show, setShow] = useState<Show>('all');
  const retry = useMutation({
    mutationFn: () => jobsService.retryFailed(id),
    onSuccess: (j) => { void qc.invalidateQueries({ queryKey: ['jobs'] }); navigate(`/jobs/${j.id}`); },
    onError: (e) => void message.error(errorText(e)),
  });
  const cancel = useMutation({
    mutationFn: () => jobsService.cancel(id),
    onSuccess: (j) => { qc.setQueryData(['jobs', 'one', id], j); void qc.invalidateQueries({ queryKey: ['jobs'] }); void message.success(t('jobs.canceled')); },
    onError: (e) => void message.error(errorText(e)),
  });

  if (job.isLoading) return <Spin style={{ display: 'block', margin: 48 }} />;
  if (job.isError || !job.data) return <Result status="404" title={errorText(job.error)} extra={<Link to="/jobs">{t('jobs.back')}</Link>} />;
  const j: Job = job.data;
  const running = isRunning(j);
  const notOk = j.summary.failed + j.summary.timedOut + j.summary.canceled;
  const rows = j.results.filter((r) => shown(show, r));
  const duration = j.startedAt ? (j.endedAt ? Date.parse(j.endedAt) : Date.now()) - Date.parse(j.startedAt) : NaN;

  return (
    <Page
      title={t('jobs.detailTitle', { kind: t(`jobs.kinds.${j.kind}`, j.kind) })}
      extra={(
        <>
          <Link to="/jobs"><Button icon={<ArrowLeftOutlined />}>{t('jobs.back')}</Button></Link>
          {!running && notOk > 0 ? (
            <Tooltip title={t('jobsScale.retryHint')}>
              <Button icon={<RedoOutlined />} loading={retry.isPending} onClick={() => retry.mutate()}>{t('jobsScale.retryFailed')} ({notOk})</Button>
            </Tooltip>
          ) : null}
          {running ? (
            <Popconfirm title={t('jobs.cancelConfirm')} okText={t('jobs.cancel')} okButtonProps={{ danger: true }} cancelText={t('common.close')} onConfirm={() => cancel.mutateAsync()}>
              <Button danger icon={<StopOutlined />} loading={cancel.isPending}>{t('jobs.cancel')}</Button>
            </Popconfirm>
          ) : null}
        </>
      )}
    >
      <Space orientation="vertical" size={16} style={{ width: '100%' }}>
        <Card size="small">
          <Descriptions size="small" column={{ xs: 1, md: 3 }}>
            <Descriptions.Item label={t('common.status')}><JobStatusTag status={j.status} /></Descriptions.Item>
            <Descriptions.Item label={t('jobs.kind')}>{t(`jobs.kinds.${j.kind}`, j.kind)}</Descriptions.Item>
            <Descriptions.Item label={t('common.createdAt')}>{formatTime(j.createdAt)}</Descriptions.Item>
            <Descriptions.Item label={t('jobs.startedAt')}>{formatTime(j.startedAt)}</Descriptions.Item>
            <Descriptions.Item label={t('jobs.endedAt')}>{formatTime(j.endedAt)}</Descriptions.Item>
            <Descriptions.Item label={t('sessions.duration')}>{formatDuration(duration)}</Descriptions.Item>
            {jobSummary(j) ? <Descriptions.Item label={t('sessions.command')} span={3}><Typography.Text code className="mono">{jobSummary(j)}</Typography.Text></Descriptions.Item> : null}
          </Descriptions>
          <JobProgress job={j} />
          <JobSummaryTags job={j} onPick={(o) => setShow(o === 'ok' ? 'ok' : 'failed')} />
        </Card>
        <Card
          size="small"
          title={t('jobs.results')}
          extra={(
            <Segmented<Show>
              aria-label={t('jobsScale.show')}
              value={show}
              onChange={setShow}
              options={[{ value: 'all', label: t('jobsScale.showAll') }, { value: 'failed', label: t('jobsScale.showFailed') }, { value: 'ok', label: t('jobsScale.showOk') }]}
            />
          )}
        >
          {/* Every asset's output stays in view (bounded height each), running ones as it comes. */}
          <Table<JobResult>
            rowKey={(r) => r.asset || r.assetName}
            size="small"
            aria-label={t('jobs.results')}
            dataSource={rows}
            pagination={{ pageSize: 50, hideOnSinglePage: true }}
            locale={{ emptyText: running ? t('jobs.waiting') : t('common.empty') }}
            columns={[
              { title: t('sessions.asset'), dataIndex: 'assetName', width: 180 },
              {
                title: t('audit.result'), dataIndex: 'outcome', width: 120,
                render: (v: JobOutcome) => <Tag color={OUTCOME_COLORS[v]} data-testid="job-outcome" data-outcome={v}>{t(`jobsScale.outcomes.${v}`)}</Tag>,
              },
              { title: t('jobs.exitCode'), dataIndex: 'exitCode', width: 90, render: (v: number | null) => (v === null ? '—' : v) },
              { title: t('jobsScale.output'), dataIndex: 'output', render: (v: string) => (v ? <pre className="job-output mono">{v}</pre> : '—') },
            ]}
          />
        </Card>
        <Card size="small" title={t('jobs.log')}><JobLog text={j.log} /></Card>
      </Space>
    </Page>
  );
}
