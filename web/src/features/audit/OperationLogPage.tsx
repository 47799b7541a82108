import { useState } from 'react';
import { DatePicker, Flex, Input, Table, Typography } from 'antd';
import type { Dayjs } from 'dayjs';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { auditService, csvUrl, type OperationLog } from '../../services/audit.ts';
import { Page } from '../../components/Page.tsx';
import { CsvExportButton } from '../../components/CsvExportButton.tsx';
import { usePaging } from '../../components/usePaging.ts';
import { formatTime } from '../../i18n/format.ts';
import { enumText } from '../../components/apiErrors.ts';
import { i18n } from '../../i18n/index.ts';

type Range = [Dayjs | null, Dayjs | null] | null;

/** A job's resource name is "<kind>: <what>": the kind in the user's language. */
function jobResource(name: string): string {
  const m = /^([a-z]+): (.*)$/s.exec(name);
  const key = m ? `jobs.kinds.${m[1]}` : '';
  return m && i18n.exists(key) ? `${String(i18n.t(key as 'jobs.kinds.command'))}: ${m[2]}` : name;
}

export function OperationLogPage() {
  const { t } = useTranslation();
  const paging = usePaging();
  const [actor, setActor] = useState('');
  const [resourceType, setResourceType] = useState('');
  const [action, setAction] = useState('');
  const [range, setRange] = useState<Range>(null);
  const params = {
    limit: paging.params.limit, offset: paging.params.offset, actor: actor || undefined, resourceType: resourceType || undefined, action: action || undefined,
    from: range?.[0]?.startOf('day').toISOString(), to: range?.[1]?.endOf('day').toISOString(),
  };
  const list = useQuery({ queryKey: ['audit', 'operations', params], queryFn: () => auditService.operations(params), placeholderData: keepPreviousData });
  const filter = (label: string, set: (v: string) => void) => (
    <Input.Search aria-label={label} placeholder={label} allowClear style={{ width: 180 }} onSearch={(v) => { set(v.trim()); paging.resetPage(); }} />
  );

  return (
    <Page title={t('audit.operationTitle')} extra={<CsvExportButton href={csvUrl('/audit/operations', params)} />}>
      <Flex gap={12} wrap style={{ marginBottom: 16 }}>
        {filter(t('audit.actor'), setActor)}
        {filter(t('audit.resourceType'), setResourceType)}
        {filter(t('audit.action'), setAction)}
        <DatePicker.RangePicker aria-label={t('common.dateRange')} value={range} onChange={(v) => { setRange(v); paging.resetPage(); }} />
      </Flex>
      <Table<OperationLog>
        rowKey="id"
        size="small"
        loading={list.isLoading}
        dataSource={list.data?.items ?? []}
        pagination={paging.pagination(list.data?.total)}
        locale={{ emptyText: t('common.empty') }}
        expandable={{
          rowExpandable: (o) => o.changes !== null && o.changes !== undefined,
          expandedRowRender: (o) => <Typography.Paragraph className="mono" style={{ whiteSpace: 'pre-wrap', margin: 0 }}>{JSON.stringify(o.changes, null, 2)}</Typography.Paragraph>,
        }}
        columns={[
          { title: t('audit.time'), dataIndex: 'createdAt', render: formatTime },
          { title: t('audit.actor'), key: 'actor', render: (_, o) => o.actor.username },
          { title: t('audit.action'), dataIndex: 'action', render: (v: string) => enumText('operationAction', v) },
          { title: t('audit.resourceType'), dataIndex: 'resourceType', render: (v: string) => enumText('resourceType', v) },
          { title: t('audit.resource'), dataIndex: 'resourceName', render: (v: string, o) => (o.resourceType === 'job' ? jobResource(v) : v) },
          { title: t('audit.clientAddress'), dataIndex: 'clientAddress' },
        ]}
      />
    </Page>
  );
}
