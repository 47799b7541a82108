import { useEffect, useRef } from 'react';
import { Link, useParams } from 'react-router';
import { App, Button, Card, Descriptions, Popconfirm, Progress, Result, Space, Spin, Table, Tag, Typography } from 'antd';
import { ArrowLeftOutlined, StopOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { isRunning, jobsService, type Job, type JobResult } from '../../services/jobs.ts';
import { Page } from '../../components/Page.tsx';
import { errorText } from '../../components/apiErrors.ts';
import { formatDuration, formatTime } from '../../components/time.ts';
import { JobStatusTag } from './JobStatusTag.tsx';
import { jobSummary } from './JobsPage.tsx';

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
  const cancel = useMutation({
    mutationFn: () => jobsService.cancel(id),
    onSuccess: (j) => { qc.setQueryData(['jobs', 'one', id], j); void qc.invalidateQueries({ queryKey: ['jobs'] }); void message.success(t('jobs.canceled')); },
    onError: (e) => void message.error(errorText(e)),
  });

  if (job.isLoading) return <Spin style={{ display: 'block', margin: 48 }} />;
  if (job.isError || !job.data) return <Result status="404" title={errorText(job.error)} extra={<Link to="/jobs">{t('jobs.back')}</Link>} />;
  const j: Job = job.data;
  const running = isRunning(j);
  const percent = j.progress.total ? Math.round((j.progress.done / j.progress.total) * 100) : running ? 0 : 100;
  const duration = j.startedAt ? (j.endedAt ? Date.parse(j.endedAt) : Date.now()) - Date.parse(j.startedAt) : NaN;

  return (
    <Page
      title={t('jobs.detailTitle', { kind: t(`jobs.kinds.${j.kind}`, j.kind) })}
      extra={(
        <>
          <Link to="/jobs"><Button icon={<ArrowLeftOutlined />}>{t('jobs.back')}</Button></Link>
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
          <Progress
            percent={percent}
            status={j.status === 'failed' ? 'exception' : j.status === 'succeeded' ? 'success' : running ? 'active' : 'normal'}
            format={() => `${j.progress.done}/${j.progress.total}`}
            aria-label={t('jobs.progress')}
            data-testid="job-progress"
          />
        </Card>
        <Card size="small" title={t('jobs.results')}>
          <Table<JobResult>
            rowKey={(r) => r.asset || r.assetName}
            size="small"
            dataSource={j.results}
            pagination={{ pageSize: 50, hideOnSinglePage: true }}
            locale={{ emptyText: running ? t('jobs.waiting') : t('common.empty') }}
            expandable={{
              defaultExpandAllRows: true,
              rowExpandable: (r) => !!r.output,
              expandedRowRender: (r) => <pre className="job-output mono">{r.output}</pre>,
            }}
            columns={[
              { title: t('sessions.asset'), dataIndex: 'assetName' },
              { title: t('audit.result'), dataIndex: 'ok', width: 110, render: (v: boolean) => (v ? <Tag color="green">{t('jobs.ok')}</Tag> : <Tag color="red">{t('jobs.failed')}</Tag>) },
              { title: t('jobs.exitCode'), dataIndex: 'exitCode', width: 110, render: (v: number | null) => (v === null ? '—' : v) },
            ]}
          />
        </Card>
        <Card size="small" title={t('jobs.log')}><JobLog text={j.log} /></Card>
      </Space>
    </Page>
  );
}
