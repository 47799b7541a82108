import { Suspense, useMemo } from 'react';
import { Outlet, useLocation, useNavigate } from 'react-router';
import { Button, Dropdown, Flex, Layout, Menu, Select, Spin, Typography, type MenuProps } from 'antd';
import { LogoutOutlined, UserOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { LANGUAGES, currentLanguage, setLanguage, type Language } from '../i18n/index.ts';
import { useLogout } from '../features/session/useSession.ts';
import type { Me } from '../services/me.ts';
import { PendingConfirmationsBell } from '../features/commandFilters/PendingConfirmationsBell.tsx';
import { menuOf } from './features.tsx';

/** The frame around every page: role-aware menu on the left, language and account on top. */
export function AppLayout({ me }: { me: Me }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const location = useLocation();
  const logout = useLogout();

  const items = useMemo<MenuProps['items']>(() => menuOf(me.abilities).map(({ section, features }) => ({
    type: 'group' as const,
    key: section,
    label: t(`nav.${section}`),
    children: features.map((f) => ({ key: `/${f.path}`, icon: f.icon, label: t(f.nav as 'nav.users') })),
  })), [me.abilities, t]);

  const selected = '/' + location.pathname.split('/').filter(Boolean).slice(0, location.pathname.startsWith('/audit/') ? 2 : 1).join('/');

  const onLogout = async () => {
    await logout();
    navigate('/login', { replace: true });
  };

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Sider width={220} theme="light" breakpoint="lg" collapsedWidth={0} style={{ borderRight: '1px solid #f0f0f0' }}>
        <div style={{ padding: '16px 24px', fontWeight: 600, fontSize: 18 }}>{t('app.name')}</div>
        <nav aria-label="main">
          <Menu mode="inline" items={items} selectedKeys={[selected]} onClick={({ key }) => navigate(key)} style={{ borderInlineEnd: 'none' }} />
        </nav>
      </Layout.Sider>
      <Layout>
        <Layout.Header style={{ background: '#fff', padding: '0 24px', borderBottom: '1px solid #f0f0f0' }}>
          <Flex justify="end" align="center" gap={16} style={{ height: '100%' }}>
            {me.abilities.includes('manage') ? <PendingConfirmationsBell /> : null}
            <label htmlFor="language-select" className="visually-hidden">{t('app.language')}</label>
            <Select<Language>
              id="language-select"
              aria-label={t('app.language')}
              value={currentLanguage()}
              onChange={(v) => setLanguage(v)}
              options={LANGUAGES}
              style={{ width: 120 }}
              size="small"
            />
            <Dropdown
              menu={{
                items: [
                  { key: 'profile', icon: <UserOutlined />, label: t('app.profile'), onClick: () => navigate('/profile') },
                  { key: 'logout', icon: <LogoutOutlined />, label: t('app.logout'), onClick: () => void onLogout() },
                ],
              }}
            >
              <Button type="text" icon={<UserOutlined />} data-testid="account-menu">
                <Typography.Text>{me.username}</Typography.Text>
              </Button>
            </Dropdown>
          </Flex>
        </Layout.Header>
        <Layout.Content style={{ padding: 24 }}>
          <main>
            <Suspense fallback={<Spin style={{ display: 'block', margin: 48 }} />}>
              <Outlet />
            </Suspense>
          </main>
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
