import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { Flex, Input, Select, Table, Tag } from 'antd';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { auditService, csvUrl, type LoginLog } from '../../services/audit.ts';
import { Page } from '../../components/Page.tsx';
import { CsvExportButton } from '../../components/CsvExportButton.tsx';
import { usePaging } from '../../components/usePaging.ts';
import { formatTime } from '../../i18n/format.ts';
import { DateRangeFilter, rangeFromUrl, rangeParams, type DateRange } from '../../components/DateRangeFilter.tsx';
import { enumText } from '../../components/apiErrors.ts';

export function LoginLogPage() {
  const { t } = useTranslation();
  const paging = usePaging();
  // The dashboard links here with its filters in the URL (?ok=false&from=…).
  const [url] = useSearchParams();
  const [username, setUsername] = useState(url.get('username') ?? '');
  const [ok, setOk] = useState<boolean | undefined>(url.get('ok') === 'false' ? false : url.get('ok') === 'true' ? true : undefined);
  const [channel, setChannel] = useState<'web' | 'ssh' | 'api' | undefined>();
  const [range, setRange] = useState<DateRange>(() => rangeFromUrl(url));
  const params = {
    limit: paging.params.limit, offset: paging.params.offset, username: username || undefined, ok, channel,
    ...rangeParams(range),
  };
  const list = useQuery({ queryKey: ['audit', 'logins', params], queryFn: () => auditService.logins(params), placeholderData: keepPreviousData });

  return (
    <Page title={t('audit.loginTitle')} extra={<CsvExportButton href={csvUrl('/audit/logins', params)} />}>
      <Flex gap={12} wrap style={{ marginBottom: 16 }}>
        <Input.Search aria-label={t('audit.username')} placeholder={t('audit.username')} defaultValue={username} allowClear style={{ width: 200 }} onSearch={(v) => { setUsername(v.trim()); paging.resetPage(); }} />
        <Select aria-label={t('audit.result')} placeholder={t('audit.result')} allowClear style={{ width: 140 }} value={ok === undefined ? undefined : ok ? 'ok' : 'fail'}
          onChange={(v) => { setOk(v === undefined ? undefined : v === 'ok'); paging.resetPage(); }}
          options={[{ value: 'ok', label: t('audit.success') }, { value: 'fail', label: t('audit.failure') }]} />
        <Select aria-label={t('audit.channel')} placeholder={t('audit.channel')} allowClear style={{ width: 140 }} value={channel}
          onChange={(v) => { setChannel(v); paging.resetPage(); }} options={['web', 'ssh', 'api'].map((c) => ({ value: c as 'web', label: c }))} />
        <DateRangeFilter value={range} onChange={(v) => { setRange(v); paging.resetPage(); }} />
      </Flex>
      <Table<LoginLog>
        rowKey="id"
        size="small"
        loading={list.isLoading}
        dataSource={list.data?.items ?? []}
        pagination={paging.pagination(list.data?.total)}
        locale={{ emptyText: t('common.empty') }}
        columns={[
          { title: t('audit.time'), dataIndex: 'createdAt', render: formatTime },
          { title: t('audit.username'), dataIndex: 'username' },
          { title: t('audit.clientAddress'), dataIndex: 'clientAddress' },
          { title: t('audit.channel'), dataIndex: 'channel', render: (v: string) => enumText('loginChannel', v) },
          { title: t('audit.method'), dataIndex: 'method', render: (v: string) => enumText('loginMethod', v) },
          { title: t('audit.result'), dataIndex: 'ok', render: (v: boolean) => (v ? <Tag color="green">{t('audit.success')}</Tag> : <Tag color="red">{t('audit.failure')}</Tag>) },
          { title: t('audit.reason'), dataIndex: 'reason', render: (v: string) => enumText('loginReason', v) },
        ]}
      />
    </Page>
  );
}
