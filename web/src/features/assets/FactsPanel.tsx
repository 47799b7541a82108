import { Card, Descriptions, Empty, Space, Table, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import type { AssetFacts } from '../../services/assets.ts';
import { formatBytes, formatTime } from '../../i18n/format.ts';

/** What Ansible found on the asset: OS, CPU, memory, disks and network cards. */
export function FactsPanel({ facts, factsAt }: { facts: AssetFacts | null; factsAt: string | null }) {
  const { t } = useTranslation();
  const dash = (v: unknown) => (v === undefined || v === null || v === '' ? '—' : String(v));
  return (
    <Card title={t('assets.facts')} extra={factsAt ? `${t('assets.factsAt')}: ${formatTime(factsAt)}` : null} data-testid="facts-panel">
      {facts ? (
        <Space orientation="vertical" size={16} style={{ width: '100%' }}>
          <Descriptions column={{ xs: 1, md: 2, xl: 3 }} size="small" bordered>
            <Descriptions.Item label={t('facts.os')}>{[facts.os, facts.osVersion].filter(Boolean).join(' ') || '—'}</Descriptions.Item>
            <Descriptions.Item label={t('facts.kernel')}>{dash(facts.kernel)}</Descriptions.Item>
            <Descriptions.Item label={t('facts.arch')}>{dash(facts.arch)}</Descriptions.Item>
            <Descriptions.Item label={t('facts.hostname')}>{dash(facts.hostname)}</Descriptions.Item>
            <Descriptions.Item label={t('facts.cpu')}>{facts.cpuCount ? `${facts.cpuCount} × ${facts.cpuModel ?? '?'}` : dash(facts.cpuModel)}</Descriptions.Item>
            <Descriptions.Item label={t('facts.memory')}>{facts.memoryMb ? formatBytes(facts.memoryMb * 1024 * 1024) : '—'}</Descriptions.Item>
          </Descriptions>
          <div>
            <Typography.Title level={3} style={{ fontSize: 15 }}>{t('facts.disks')}</Typography.Title>
            <Table
              rowKey={(d) => `${d.device}:${d.mount}`}
              size="small"
              pagination={false}
              dataSource={facts.disks ?? []}
              locale={{ emptyText: t('common.empty') }}
              columns={[
                { title: t('facts.device'), dataIndex: 'device', render: (v: string) => <span className="mono">{v}</span> },
                { title: t('facts.mount'), dataIndex: 'mount', render: (v: string) => <span className="mono">{v || '—'}</span> },
                { title: t('facts.size'), dataIndex: 'sizeBytes', render: formatBytes },
              ]}
            />
          </div>
          <div>
            <Typography.Title level={3} style={{ fontSize: 15 }}>{t('facts.interfaces')}</Typography.Title>
            <Table
              rowKey="name"
              size="small"
              pagination={false}
              dataSource={facts.interfaces ?? []}
              locale={{ emptyText: t('common.empty') }}
              columns={[
                { title: t('facts.nic'), dataIndex: 'name', render: (v: string) => <span className="mono">{v}</span> },
                { title: t('facts.mac'), dataIndex: 'mac', render: (v: string) => <span className="mono">{v || '—'}</span> },
                { title: t('facts.ipv4'), dataIndex: 'ipv4', render: (v: string | null) => <span className="mono">{v || '—'}</span> },
              ]}
            />
          </div>
        </Space>
      ) : <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('assets.noFacts')} />}
    </Card>
  );
}
