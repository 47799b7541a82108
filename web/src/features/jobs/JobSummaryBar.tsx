import { Progress, Space, Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import { isRunning, type Job } from '../../services/jobs.ts';
import { formatNumber } from '../../i18n/format.ts';

/**
 * How far a job got, as one bar split in green (assets that succeeded) and red (the rest that
 * ended), so a command that worked on 2 of 3 assets reads as mostly green, not all red.
 */
export function JobProgress({ job, size }: { job: Job; size?: 'small' }) {
  const { t } = useTranslation();
  const { total } = job.progress;
  const s = job.summary;
  const ended = s.ok + s.failed + s.timedOut + s.canceled;
  const pct = (n: number) => (total ? Math.round((n / total) * 100) : 0);
  return (
    <Progress
      size={size === 'small' ? 'small' : 'default'}
      percent={total ? pct(ended) : isRunning(job) ? 0 : 100}
      success={{ percent: pct(s.ok) }}
      strokeColor={ended > s.ok ? '#ff4d4f' : undefined}
      status={isRunning(job) ? 'active' : 'normal'}
      format={() => `${formatNumber(s.ok)}/${formatNumber(total)}`}
      aria-label={t('jobs.progress')}
      data-testid="job-progress"
      data-ok={s.ok}
      data-failed={ended - s.ok}
    />
  );
}

/** The counts of a job's assets by outcome; each is a filter when `onPick` is given. */
export function JobSummaryTags({ job, onPick }: { job: Job; onPick?: (outcome: 'ok' | 'failed' | 'timedOut' | 'canceled') => void }) {
  const { t } = useTranslation();
  const s = job.summary;
  const items = [
    { key: 'ok' as const, color: 'green', n: s.ok },
    { key: 'failed' as const, color: 'red', n: s.failed },
    { key: 'timedOut' as const, color: 'orange', n: s.timedOut },
    { key: 'canceled' as const, color: 'default', n: s.canceled },
  ];
  return (
    <Space size={4} wrap data-testid="job-summary">
      {items.map((i) => (
        <Tag key={i.key} color={i.n ? i.color : 'default'} data-outcome={i.key} data-count={i.n} style={onPick && i.n ? { cursor: 'pointer' } : undefined}
          onClick={onPick && i.n ? () => onPick(i.key) : undefined}>
          {t(`jobsScale.outcomes.${i.key}`)}: {formatNumber(i.n)}
        </Tag>
      ))}
      {s.pending ? <Tag data-outcome="pending" data-count={s.pending}>{t('jobsScale.pending')}: {formatNumber(s.pending)}</Tag> : null}
    </Space>
  );
}
