import { Tag } from 'antd';
import { useTranslation } from 'react-i18next';
import type { JobStatus } from '../../services/jobs.ts';

const COLORS: Record<JobStatus, string> = { queued: 'default', running: 'processing', succeeded: 'success', partial: 'orange', failed: 'error', canceled: 'warning' };

export function JobStatusTag({ status }: { status: JobStatus }) {
  const { t } = useTranslation();
  return <Tag color={COLORS[status] ?? 'default'} data-testid="job-status" data-status={status}>{t(`jobs.statuses.${status}`, status)}</Tag>;
}
