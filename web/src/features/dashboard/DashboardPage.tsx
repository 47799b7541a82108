import { Alert, Card, Col, List, Row, Spin, Statistic, Table, Tag } from 'antd';
import { Link } from 'react-router';
import dayjs from 'dayjs';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { dashboardService, type Dashboard } from '../../services/dashboard.ts';
import { Page } from '../../components/Page.tsx';
import { errorText } from '../../components/apiErrors.ts';
import { formatBytes, formatNumber, formatTime } from '../../i18n/format.ts';
import { enumText } from '../../components/apiErrors.ts';

function TopList({ title, items }: { title: string; items: { name: string; count: number; to: string }[] }) {
  const { t } = useTranslation();
  return (
    <Card title={title} size="small" style={{ height: '100%' }}>
      <List
        size="small"
        dataSource={items}
        locale={{ emptyText: t('common.empty') }}
        renderItem={(i) => <List.Item extra={<Tag>{formatNumber(i.count)}</Tag>}><Link to={i.to}>{i.name}</Link></List.Item>}
      />
    </Card>
  );
}

/** Counts, a 7-day chart, most used assets and most active users, recent failed logins (GET /dashboard). */
export function DashboardPage() {
  const { t } = useTranslation();
  const q = useQuery({ queryKey: ['dashboard'], queryFn: () => dashboardService.get(), refetchInterval: 30_000 });
  if (q.isLoading) return <Page title={t('dashboard.title')}><Spin /></Page>;
  if (q.isError || !q.data) return <Page title={t('dashboard.title')}><Alert type="error" showIcon title={errorText(q.error)} /></Page>;
  const d: Dashboard = q.data;
  // Each number opens the list it counts, filtered the same way.
  const today = encodeURIComponent(dayjs().startOf('day').toISOString());
  const week = encodeURIComponent(dayjs().subtract(7, 'day').toISOString());
  const stats = [
    { key: 'users', label: t('dashboard.users'), value: d.counts.users, to: '/users' },
    { key: 'assets', label: t('dashboard.assets'), value: d.counts.assets, to: '/assets' },
    { key: 'online', label: t('dashboard.onlineSessions'), value: d.counts.onlineSessions, to: '/sessions' },
    { key: 'logins', label: t('dashboard.todayLogins'), value: d.counts.loginsToday, to: `/audit/logins?from=${today}` },
    { key: 'failed', label: t('dashboard.failedToday'), value: d.counts.failedLoginsToday, to: `/audit/logins?ok=false&from=${today}` },
  ];
  const chart = d.perDay.map((p) => ({ day: p.day.slice(5), [t('dashboard.logins')]: p.logins, [t('dashboard.failed')]: p.failedLogins, [t('dashboard.sessions')]: p.sessions }));
  return (
    <Page title={t('dashboard.title')}>
      <Row gutter={[16, 16]}>
        {stats.map((s) => (
          <Col key={s.key} xs={12} md={8} xl={4}>
            <Link to={s.to} aria-label={`${s.label}: ${formatNumber(s.value)}`} data-testid={`dashboard-${s.key}`}>
              <Card size="small" hoverable><Statistic title={s.label} value={s.value} formatter={(v) => formatNumber(Number(v))} /></Card>
            </Link>
          </Col>
        ))}
        <Col xs={12} md={8} xl={4}>
          <Card size="small" data-testid="recordings-usage">
            <Statistic title={t('dashboard.recordings')} value={formatBytes(d.recordings.bytes)} />
            <div style={{ color: '#595959', fontSize: 12 }}>{t('dashboard.recordingFiles', { count: d.recordings.files })}</div>
          </Card>
        </Col>
        <Col xs={24} xl={14}>
          <Card title={t('dashboard.loginsPerDay')} size="small">
            <div style={{ width: '100%', height: 280 }} role="img" aria-label={t('dashboard.loginsPerDay')}>
              <ResponsiveContainer>
                <BarChart data={chart}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="day" />
                  <YAxis allowDecimals={false} />
                  <Tooltip />
                  <Legend />
                  <Bar dataKey={t('dashboard.logins')} fill="#1f6feb" isAnimationActive={false} />
                  <Bar dataKey={t('dashboard.failed')} fill="#ff4d4f" isAnimationActive={false} />
                  <Bar dataKey={t('dashboard.sessions')} fill="#52c41a" isAnimationActive={false} />
                </BarChart>
              </ResponsiveContainer>
            </div>
          </Card>
        </Col>
        <Col xs={24} md={12} xl={5}>
          <TopList title={t('dashboard.topAssets')} items={d.topAssets.map((a) => ({ name: a.name, count: a.sessions, to: `/sessions?tab=history&asset=${encodeURIComponent(a.name)}&from=${week}` }))} />
        </Col>
        <Col xs={24} md={12} xl={5}>
          <TopList title={t('dashboard.topUsers')} items={d.topUsers.map((u) => ({ name: u.username, count: u.sessions, to: `/sessions?tab=history&user=${encodeURIComponent(u.username)}&from=${week}` }))} />
        </Col>
        <Col span={24}>
          <Card title={t('dashboard.failedLogins')} size="small">
            <Table
              rowKey={(r) => `${r.at}-${r.username}-${r.clientAddress}`}
              size="small"
              pagination={false}
              dataSource={d.recentFailedLogins}
              locale={{ emptyText: t('common.empty') }}
              columns={[
                { title: t('audit.time'), dataIndex: 'at', render: formatTime },
                { title: t('audit.username'), dataIndex: 'username', render: (v: string) => <Link to={`/audit/logins?ok=false&username=${encodeURIComponent(v)}`}>{v}</Link> },
                { title: t('audit.clientAddress'), dataIndex: 'clientAddress' },
                { title: t('audit.channel'), dataIndex: 'channel', render: (v: string) => enumText('loginChannel', v) },
                { title: t('audit.reason'), dataIndex: 'reason', render: (v: string) => enumText('loginReason', v) },
              ]}
            />
          </Card>
        </Col>
      </Row>
    </Page>
  );
}
