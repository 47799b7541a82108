import { useState } from 'react';
import { Link } from 'react-router';
import { Flex, Input, Table, Tag, Typography } from 'antd';
import { PlayCircleOutlined } from '@ant-design/icons';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { exportUrl, playbackPath, sessionPath, sessionsService, type CommandRecord, type CommandSearchParams } from '../../services/sessions.ts';
import { CsvExportButton } from '../../components/CsvExportButton.tsx';
import { DateRangeFilter, rangeParams, type DateRange } from '../../components/DateRangeFilter.tsx';
import { Page } from '../../components/Page.tsx';
import { usePaging } from '../../components/usePaging.ts';
import { formatTime } from '../../i18n/format.ts';
import { clock } from '../playback/clock.ts';
import { enumText } from '../../components/apiErrors.ts';

const risky = (risk: string) => !!risk && risk !== 'normal' && risk !== 'none';

/** Every command typed through the gateway, searchable; each row opens the playback at its moment. */
export function CommandLogPage() {
  const { t } = useTranslation();
  const paging = usePaging();
  const [user, setUser] = useState('');
  const [asset, setAsset] = useState('');
  const [systemUser, setSystemUser] = useState('');
  const [range, setRange] = useState<DateRange>(null);
  const params: CommandSearchParams = {
    ...paging.params, user: user || undefined, asset: asset || undefined, systemUser: systemUser || undefined,
    ...rangeParams(range),
  };
  const list = useQuery({ queryKey: ['commands', params], queryFn: () => sessionsService.searchCommands(params), placeholderData: keepPreviousData });
  const filter = (label: string, set: (v: string) => void) => (
    <Input.Search aria-label={label} placeholder={label} allowClear style={{ width: 170 }} onSearch={(v) => { set(v.trim()); paging.resetPage(); }} />
  );

  return (
    <Page title={t('commandLog.title')} extra={<CsvExportButton href={exportUrl('/commands', params)} />}>
      <Flex gap={12} wrap style={{ marginBottom: 16 }}>
        <Input.Search aria-label={t('commandLog.search')} placeholder={t('commandLog.search')} allowClear style={{ width: 240 }} onSearch={(v) => paging.setSearch(v.trim())} />
        {filter(t('sessions.user'), setUser)}
        {filter(t('sessions.asset'), setAsset)}
        {filter(t('sessions.systemUser'), setSystemUser)}
        <DateRangeFilter value={range} onChange={(v) => { setRange(v); paging.resetPage(); }} />
      </Flex>
      <Table<CommandRecord>
        rowKey="id"
        size="small"
        loading={list.isLoading}
        dataSource={list.data?.items ?? []}
        pagination={paging.pagination(list.data?.total)}
        locale={{ emptyText: paging.search || user || asset || systemUser || range ? t('common.noMatch') : t('common.empty') }}
        scroll={{ x: 1000 }}
        rowClassName={(c) => (risky(c.risk) ? 'row-risky' : '')}
        columns={[
          { title: t('sessions.time'), dataIndex: 'createdAt', width: 170, render: formatTime },
          { title: t('sessions.user'), dataIndex: 'user', width: 120 },
          { title: t('sessions.asset'), dataIndex: 'asset', width: 140 },
          { title: t('sessions.systemUser'), dataIndex: 'systemUser', width: 120 },
          {
            title: t('sessions.command'), dataIndex: 'input',
            // A line run with the echo off is a marker (its length), told apart from typed text by the flag.
            render: (v: string, c: CommandRecord) => (c.notEchoed
              ? <Tag color="orange" title={t('commandLog.notEchoedHint')}>{v}</Tag>
              : <Typography.Text code className="mono">{v}</Typography.Text>),
          },
          { title: t('sessions.risk'), dataIndex: 'risk', width: 100, render: (v: string) => (risky(v) ? <Tag color="red">{enumText('risk', v)}</Tag> : <Tag>{enumText('risk', v)}</Tag>) },
          {
            title: t('commandLog.playback'), key: 'play', width: 170, fixed: 'right' as const,
            render: (_: unknown, c: CommandRecord) => (
              <Flex gap={8}>
                <Link to={playbackPath(c.session, c.offsetMs / 1000)} aria-label={`${clock(c.offsetMs)} ${t('commandLog.playAt')} ${c.input}`}>
                  <PlayCircleOutlined /> {clock(c.offsetMs)}
                </Link>
                <Link to={sessionPath(c.session)} aria-label={`${t('sessionDetail.open')}: ${c.input}`}>{t('sessionDetail.open')}</Link>
              </Flex>
            ),
          },
        ]}
      />
    </Page>
  );
}
