import { useState } from 'react';
import { Link } from 'react-router';
import { Col, Flex, Row, Select, Space, Table, Tag } from 'antd';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { isRunning, JOB_KINDS, JOB_STATUSES, jobsService, type Job, type JobKind, type JobStatus } from '../../services/jobs.ts';
import { Page } from '../../components/Page.tsx';
import { usePaging } from '../../components/usePaging.ts';
import { formatTime } from '../../i18n/format.ts';
import { JobStatusTag } from './JobStatusTag.tsx';
import { CommandRunnerCard } from './CommandRunnerCard.tsx';
import { JobProgress } from './JobSummaryBar.tsx';
import { SavedCommandsCard } from './SavedCommandsCard.tsx';
import { useMe } from '../session/useSession.ts';

export function jobSummary(j: Job): string {
  const c = j.params.command;
  return typeof c === 'string' ? c : '';
}

/**
 * The command runner and the jobs (connectivity tests, facts, pushes, commands), newest first:
 * every job for admins; for everyone else the commands they ran on the servers granted to them.
 */
export function JobsPage() {
  const { t } = useTranslation();
  const me = useMe();
  const paging = usePaging();
  const [kind, setKind] = useState<JobKind | undefined>();
  const [status, setStatus] = useState<JobStatus | undefined>();
  const params = { limit: paging.params.limit, offset: paging.params.offset, kind, status };
  const list = useQuery({
    queryKey: ['jobs', params], queryFn: () => jobsService.list(params), placeholderData: keepPreviousData,
    refetchInterval: (q) => (q.state.data?.items.some(isRunning) ? 2000 : 10_000),
  });

  return (
    <Page title={t('jobs.title')}>
      <Row gutter={16}>
        <Col xs={24} xl={8}>
          <Space orientation="vertical" size={16} style={{ width: '100%' }}>
            <CommandRunnerCard granted={!me.data?.abilities.includes('manage')} />
            <SavedCommandsCard manage={!!me.data?.abilities.includes('manage')} />
          </Space>
        </Col>
        <Col xs={24} xl={16}>
          <Flex gap={12} wrap style={{ marginBottom: 16 }}>
            <Select aria-label={t('jobs.kind')} placeholder={t('jobs.kind')} allowClear style={{ width: 170 }} value={kind}
              onChange={(v) => { setKind(v); paging.resetPage(); }} options={JOB_KINDS.map((k) => ({ value: k, label: t(`jobs.kinds.${k}`) }))} />
            <Select aria-label={t('common.status')} placeholder={t('common.status')} allowClear style={{ width: 150 }} value={status}
              onChange={(v) => { setStatus(v); paging.resetPage(); }} options={JOB_STATUSES.map((s) => ({ value: s, label: t(`jobs.statuses.${s}`) }))} />
          </Flex>
          <Table<Job>
            rowKey="id"
            size="small"
            loading={list.isLoading}
            dataSource={list.data?.items ?? []}
            pagination={paging.pagination(list.data?.total)}
            locale={{ emptyText: kind || status ? t('common.noMatch') : t('jobs.empty') }}
            scroll={{ x: 800 }}
            columns={[
              { title: t('common.createdAt'), dataIndex: 'createdAt', width: 170, render: (v: string, j) => <Link to={`/jobs/${j.id}`}>{formatTime(v)}</Link> },
              { title: t('jobs.kind'), dataIndex: 'kind', width: 120, render: (v: JobKind) => <Tag>{t(`jobs.kinds.${v}`, v)}</Tag> },
              { title: t('sessions.command'), key: 'what', ellipsis: true, render: (_, j) => <span className="mono">{jobSummary(j)}</span> },
              { title: t('common.status'), dataIndex: 'status', width: 120, render: (v: JobStatus) => <JobStatusTag status={v} /> },
              { title: t('jobs.progress'), key: 'progress', width: 160, render: (_, j) => <JobProgress job={j} size="small" /> },
              { title: t('jobs.open'), key: 'open', width: 90, render: (_, j) => <Link to={`/jobs/${j.id}`}>{t('common.details')}</Link> },
            ]}
          />
        </Col>
      </Row>
    </Page>
  );
}
