import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { RouterlessLink } from '../../components/RouterlessLink.tsx';
import { App, Button, Card, Descriptions, Popconfirm, Result, Space, Spin, Table, Tag, Typography } from 'antd';
import { ApiOutlined, ArrowLeftOutlined, EditOutlined, ReloadOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { assetsService } from '../../services/assets.ts';
import type { Reacher } from '../../services/grants.ts';
import { Page } from '../../components/Page.tsx';
import { enumText, errorText } from '../../components/apiErrors.ts';
import { formatTime } from '../../i18n/format.ts';
import { AssetFormModal } from './AssetFormModal.tsx';
import { FactsPanel } from './FactsPanel.tsx';
import { LastTestTag } from './LastTestTag.tsx';
import { ConnectIfGranted } from '../terminal/ConnectButtons.tsx';
import { ASSETS_KEY, useAsset, useAssetMutations } from './useAssets.ts';

/** One asset: its fields, facts, pinned host key and who can reach it (as core/access decides). */
export function AssetDetailPage() {
  const { id = '' } = useParams();
  const { t } = useTranslation();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const asset = useAsset(id);
  const m = useAssetMutations();
  const hostKey = useQuery({ queryKey: [...ASSETS_KEY, 'one', id, 'host-key'], queryFn: () => assetsService.hostKey(id), enabled: asset.isSuccess });
  const reachers = useQuery({ queryKey: [...ASSETS_KEY, 'one', id, 'reachers'], queryFn: () => assetsService.reachers(id), enabled: asset.isSuccess });
  const [editing, setEditing] = useState(false);
  const [testing, setTesting] = useState(false);
  const [gathering, setGathering] = useState(false);

  if (asset.isLoading) return <Spin style={{ display: 'block', margin: 48 }} />;
  if (asset.isError || !asset.data) return <Result status="404" title={errorText(asset.error)} extra={<Link to="/assets">{t('assets.back')}</Link>} />;
  const a = asset.data;

  const forget = async () => {
    try {
      await assetsService.forgetHostKey(id);
      await qc.invalidateQueries({ queryKey: [...ASSETS_KEY, 'one', id, 'host-key'] });
      void message.success(t('app.deleted'));
    } catch (e) { void message.error(errorText(e)); }
  };

  const testConnectivity = async () => {
    setTesting(true);
    try {
      const r = await assetsService.test(id);
      if (r.ok) void message.success(`${t('assets.testOk')} (${r.latencyMs} ms)`);
      else void message.error(`${t('assets.testFailed')}: ${r.message}`);
      await qc.invalidateQueries({ queryKey: [...ASSETS_KEY, 'one', id] });
    } catch (e) { void message.error(errorText(e)); } finally { setTesting(false); }
  };

  const gatherFacts = async () => {
    setGathering(true);
    try {
      const job = await assetsService.gatherFacts(id);
      void message.info(<span>{t('assets.factsStarted')} <RouterlessLink to={`/jobs/${job}`} navigate={navigate}>{t('jobs.open')}</RouterlessLink></span>);
      for (let i = 0; i < 120; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        const status = await assetsService.jobStatus(job);
        if (status !== 'queued' && status !== 'running') {
          if (status === 'succeeded') void message.success(t('assets.factsDone'));
          else void message.warning(<span>{t('assets.factsDone')}: {t(`jobs.statuses.${status as 'failed'}`, status)} <RouterlessLink to={`/jobs/${job}`} navigate={navigate}>{t('jobs.open')}</RouterlessLink></span>);
          break;
        }
      }
      await qc.invalidateQueries({ queryKey: [...ASSETS_KEY, 'one', id] });
    } catch (e) { void message.error(errorText(e)); } finally { setGathering(false); }
  };

  return (
    <Page
      title={`${t('assets.detail')}: ${a.name}`}
      extra={(
        <>
          <Link to="/assets"><Button icon={<ArrowLeftOutlined />}>{t('assets.back')}</Button></Link>
          <Link to={`/sessions?tab=history&asset=${encodeURIComponent(a.name)}`}><Button>{t('sessionDetail.assetSessions')}</Button></Link>
          <ConnectIfGranted assetId={a.id} assetName={a.name} />
          <Button icon={<ApiOutlined />} loading={testing} onClick={() => void testConnectivity()}>{t('assets.testConnectivity')}</Button>
          <Button icon={<ReloadOutlined />} loading={gathering} onClick={() => void gatherFacts()}>{t('assets.gatherFacts')}</Button>
          <Button type="primary" icon={<EditOutlined />} onClick={() => setEditing(true)}>{t('common.edit')}</Button>
        </>
      )}
    >
      <Space orientation="vertical" size={16} style={{ width: '100%' }}>
        <Card>
          <Descriptions column={{ xs: 1, md: 2 }} size="small">
            <Descriptions.Item label={t('assets.name')}>{a.name}</Descriptions.Item>
            <Descriptions.Item label={t('assets.address')}>{a.address}:{a.port}</Descriptions.Item>
            <Descriptions.Item label={t('assets.platform')}>{enumText('platform', a.platform)}</Descriptions.Item>
            <Descriptions.Item label={t('common.status')}>{a.active ? <Tag color="green">{t('common.active')}</Tag> : <Tag>{t('common.inactive')}</Tag>}</Descriptions.Item>
            <Descriptions.Item label={t('assets.nodes')}>{a.nodes.map((n) => <Tag key={n.id}>{n.name}</Tag>)}</Descriptions.Item>
            <Descriptions.Item label={t('assets.labels')}>{a.labels.map((l) => <Tag key={l} color="geekblue">{l}</Tag>)}</Descriptions.Item>
            <Descriptions.Item label={t('assets.lastTest')}>
              <span><LastTestTag test={a.lastTest} /> {a.lastTest ? `${formatTime(a.lastTest.at)} ${a.lastTest.message}` : null}</span>
            </Descriptions.Item>
            <Descriptions.Item label={t('common.comment')}>{a.comment || '—'}</Descriptions.Item>
          </Descriptions>
        </Card>
        <FactsPanel facts={a.facts} factsAt={a.factsAt} />
        <Card title={t('assets.hostKey')} loading={hostKey.isLoading}>
          {hostKey.data ? (
            <Space orientation="vertical" style={{ width: '100%' }}>
              <Descriptions column={1} size="small">
                <Descriptions.Item label={t('keys.type')}>{hostKey.data.keyType}</Descriptions.Item>
                <Descriptions.Item label={t('keys.fingerprint')}><Typography.Text className="mono" copyable>{hostKey.data.fingerprint}</Typography.Text></Descriptions.Item>
                <Descriptions.Item label={t('assets.pinnedAt')}>{formatTime(hostKey.data.pinnedAt)}</Descriptions.Item>
              </Descriptions>
              <Popconfirm title={t('assets.forgetHostKeyConfirm')} okText={t('assets.forgetHostKey')} okButtonProps={{ danger: true }} cancelText={t('common.cancel')} onConfirm={forget}>
                <Button danger>{t('assets.forgetHostKey')}</Button>
              </Popconfirm>
            </Space>
          ) : <Typography.Text type="secondary">{t('assets.noHostKey')}</Typography.Text>}
        </Card>
        <Card title={t('assets.reachers')}>
          <Table<Reacher>
            rowKey={(r) => r.user.id}
            size="small"
            loading={reachers.isLoading}
            dataSource={reachers.data ?? []}
            pagination={{ pageSize: 20, hideOnSinglePage: true }}
            locale={{ emptyText: t('common.empty') }}
            columns={[
              { title: t('assets.reacher'), key: 'user', render: (_, r) => r.user.username },
              {
                title: t('assets.viaSystemUsers'), key: 'su',
                render: (_, r) => r.systemUsers.map((s) => (
                  <div key={s.id}><Tag>{s.username}</Tag>{s.actions.map((x) => <Tag key={x} color="blue">{t(`permissions.actionNames.${x as 'connect'}`, x)}</Tag>)}</div>
                )),
              },
            ]}
          />
        </Card>
      </Space>
      {editing ? <AssetFormModal asset={a} defaultNode={null} onClose={() => setEditing(false)} onSubmit={(patch) => m.update.mutateAsync({ id: a.id, patch })} /> : null}
    </Page>
  );
}
