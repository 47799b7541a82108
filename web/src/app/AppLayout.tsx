import { Suspense, useEffect, useMemo, useRef, useState } from 'react';
import { Outlet, useLocation, useNavigate } from 'react-router';
import { Button, Drawer, Dropdown, Flex, Grid, Layout, Menu, Select, Spin, Typography, type MenuProps } from 'antd';
import { LogoutOutlined, MenuOutlined, UserOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { LANGUAGES, currentLanguage, setLanguage, type Language } from '../i18n/index.ts';
import { useLogout } from '../features/session/useSession.ts';
import type { Me } from '../services/me.ts';
import { PendingConfirmationsBell } from '../features/commandFilters/PendingConfirmationsBell.tsx';
import { useTableCardLabels } from '../components/tableCards.ts';
import { menuOf } from './features.tsx';

/**
 * The frame around every page: role-aware menu on the left (an overlay drawer below 992 px, so
 * the page keeps the whole width), language and account on top, a skip link first, and the one
 * `<main>` (antd's Layout.Content) as its target.
 */
export function AppLayout({ me }: { me: Me }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const location = useLocation();
  const logout = useLogout();
  const screens = Grid.useBreakpoint();
  // Until the first measurement, the wide layout (what desktops show): no flash of the drawer button.
  const narrow = screens.lg === false;
  const [menuOpen, setMenuOpen] = useState(false);
  const mainRef = useRef<HTMLElement>(null);
  useTableCardLabels(mainRef);

  useEffect(() => { setMenuOpen(false); }, [location.pathname]);

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

  const menu = (
    <nav aria-label="main">
      <Menu mode="inline" items={items} selectedKeys={[selected]} onClick={({ key }) => navigate(key)} style={{ borderInlineEnd: 'none' }} />
    </nav>
  );

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <a className="skip-link" href="#main" onClick={(e) => { e.preventDefault(); mainRef.current?.focus(); }}>{t('a11y.skipToContent')}</a>
      {narrow ? (
        <Drawer open={menuOpen} onClose={() => setMenuOpen(false)} placement="left" size={260} title={t('app.name')} styles={{ body: { padding: 0 } }} closeIcon={<span aria-label={t('a11y.closeMenu')}>✕</span>}>
          {menu}
        </Drawer>
      ) : (
        <Layout.Sider width={220} theme="light" style={{ borderRight: '1px solid #f0f0f0' }}>
          <div style={{ padding: '16px 24px', fontWeight: 600, fontSize: 18 }}>{t('app.name')}</div>
          {menu}
        </Layout.Sider>
      )}
      <Layout style={{ minWidth: 0 }}>
        <Layout.Header style={{ background: '#fff', padding: narrow ? '0 12px' : '0 24px', borderBottom: '1px solid #f0f0f0' }}>
          <Flex justify="space-between" align="center" gap={12} style={{ height: '100%' }}>
            {narrow ? <Button type="text" icon={<MenuOutlined />} aria-label={t('a11y.openMenu')} aria-expanded={menuOpen} onClick={() => setMenuOpen(true)} /> : <span />}
            <Flex justify="end" align="center" gap={narrow ? 8 : 16}>
              {me.abilities.includes('manage') ? <PendingConfirmationsBell /> : null}
              <label htmlFor="language-select" className="visually-hidden">{t('app.language')}</label>
              <Select<Language>
                id="language-select"
                aria-label={t('app.language')}
                value={currentLanguage()}
                onChange={(v) => setLanguage(v)}
                options={LANGUAGES}
                style={{ width: narrow ? 96 : 120 }}
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
                <Button type="text" icon={<UserOutlined />} data-testid="account-menu" aria-label={me.username}>
                  {narrow ? null : <Typography.Text>{me.username}</Typography.Text>}
                </Button>
              </Dropdown>
            </Flex>
          </Flex>
        </Layout.Header>
        <Layout.Content id="main" ref={mainRef} tabIndex={-1} style={{ padding: narrow ? 12 : 24, outline: 'none', minWidth: 0 }}>
          <Suspense fallback={<Spin style={{ display: 'block', margin: 48 }} />}>
            <Outlet />
          </Suspense>
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
