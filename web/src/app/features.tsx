import { lazy, useEffect, useReducer, type ComponentType, type ReactNode } from 'react';
import { Spin } from 'antd';
import { matchPath, type Params } from 'react-router';
import type { FetchQueryOptions, QueryClient } from '@tanstack/react-query';
import {
  ApartmentOutlined, AuditOutlined, CodeOutlined, FilterOutlined, FolderOpenOutlined, ThunderboltOutlined, CloudServerOutlined, DashboardOutlined, DesktopOutlined, FileSearchOutlined,
  IdcardOutlined, KeyOutlined, LoginOutlined, SafetyOutlined, TeamOutlined, UserOutlined,
} from '@ant-design/icons';
import type { Ability } from '../services/common.ts';
import { playbackPrefetch } from '../features/playback/playbackQueries.ts';

export type Section = 'overview' | 'accounts' | 'assetsSection' | 'access' | 'audit' | 'self';

export interface Feature {
  key: string;
  /** Route pattern, relative to the app root. */
  path: string;
  /** Message key of its navigation entry; features without one are not in the menu (detail pages). */
  nav?: `nav.${string}`;
  section: Section;
  /** The section for users who may not manage (operators see their own jobs beside their assets). */
  sectionWithoutManage?: Section;
  icon?: ReactNode;
  /** Deny by default: a feature is reachable only when the caller's abilities (from GET /me) allow it. */
  hasAccess: (abilities: readonly Ability[]) => boolean;
  /** The page; its code is a chunk of its own, loaded on first use or by `preload`. */
  Component: ComponentType;
  preload: () => Promise<unknown>;
  /**
   * The queries the page makes as soon as it renders, started by the router together with the
   * page's chunk instead of after it (no request waterfall behind the code download).
   */
  queries?: (params: Params) => FetchQueryOptions[];
}

const needs = (ability: Ability) => (abilities: readonly Ability[]) => abilities.includes(ability);

/**
 * A page in a chunk of its own. Once the chunk is loaded the page renders directly, without
 * suspending: a Suspense fallback, once shown, holds the page back for React's 300 ms reveal
 * throttle, which a page preloaded at start-up must not pay, neither once its chunk is in nor
 * while it is still coming.
 */
function page<M extends Record<string, unknown>>(load: () => Promise<M>, name: keyof M): Pick<Feature, 'Component' | 'preload'> {
  let loaded: ComponentType | null = null;
  let loading: Promise<{ default: ComponentType }> | null = null;
  const preload = () => (loading ??= load().then((m) => {
    loaded = m[name] as ComponentType;
    return { default: loaded };
  }, (err: unknown) => {
    loading = null;
    throw err;
  }));
  const Lazy = lazy(preload);
  function Page() {
    // A chunk already on its way (the page preloaded at start-up) is waited for with state, not with
    // Suspense: a Suspense fallback, once committed, delays the reveal of the page by React's
    // 300 ms throttle. In-app navigation keeps suspending, so the previous page stays up meanwhile.
    const [, loadedNow] = useReducer((n: number) => n + 1, 0);
    const waiting = loaded === null && loading !== null;
    useEffect(() => {
      if (!waiting || !loading) return;
      let live = true;
      const done = () => { if (live) loadedNow(); };
      loading.then(done, done);
      return () => { live = false; };
    }, [waiting]);
    const Loaded = loaded;
    if (Loaded) return <Loaded />;
    return waiting ? <Spin style={{ display: 'block', margin: 48 }} /> : <Lazy />;
  }
  return { Component: Page, preload };
}

/** Every page of the app, in menu order (Teleport's features.tsx). */
export const FEATURES: Feature[] = [
  { key: 'dashboard', path: 'dashboard', nav: 'nav.dashboard', section: 'overview', icon: <DashboardOutlined />, hasAccess: needs('audit'), ...page(() => import('../features/dashboard/DashboardPage.tsx'), 'DashboardPage') },
  { key: 'users', path: 'users', nav: 'nav.users', section: 'accounts', icon: <UserOutlined />, hasAccess: needs('manage'), ...page(() => import('../features/users/UsersPage.tsx'), 'UsersPage') },
  { key: 'user-groups', path: 'user-groups', nav: 'nav.userGroups', section: 'accounts', icon: <TeamOutlined />, hasAccess: needs('manage'), ...page(() => import('../features/userGroups/UserGroupsPage.tsx'), 'UserGroupsPage') },
  { key: 'assets', path: 'assets', nav: 'nav.assets', section: 'assetsSection', icon: <CloudServerOutlined />, hasAccess: needs('manage'), ...page(() => import('../features/assets/AssetsPage.tsx'), 'AssetsPage') },
  { key: 'asset', path: 'assets/:id', section: 'assetsSection', hasAccess: needs('manage'), ...page(() => import('../features/assets/AssetDetailPage.tsx'), 'AssetDetailPage') },
  { key: 'system-users', path: 'system-users', nav: 'nav.systemUsers', section: 'assetsSection', icon: <IdcardOutlined />, hasAccess: needs('manage'), ...page(() => import('../features/accounts/SystemUsersPage.tsx'), 'SystemUsersPage') },
  { key: 'admin-users', path: 'admin-users', nav: 'nav.adminUsers', section: 'assetsSection', icon: <KeyOutlined />, hasAccess: needs('manage'), ...page(() => import('../features/accounts/AdminUsersPage.tsx'), 'AdminUsersPage') },
  { key: 'permissions', path: 'permissions', nav: 'nav.permissions', section: 'access', icon: <SafetyOutlined />, hasAccess: needs('manage'), ...page(() => import('../features/permissions/PermissionsPage.tsx'), 'PermissionsPage') },
  { key: 'command-filters', path: 'command-filters', nav: 'nav.commandFilters', section: 'access', icon: <FilterOutlined />, hasAccess: needs('manage'), ...page(() => import('../features/commandFilters/CommandFiltersPage.tsx'), 'CommandFiltersPage') },
  { key: 'sessions', path: 'sessions', nav: 'nav.sessions', section: 'audit', icon: <DesktopOutlined />, hasAccess: needs('audit'), ...page(() => import('../features/sessions/SessionsPage.tsx'), 'SessionsPage') },
  { key: 'session-play', path: 'sessions/:id/play', section: 'audit', hasAccess: needs('audit'), ...page(() => import('../features/playback/PlaybackPage.tsx'), 'PlaybackPage'), queries: ({ id = '' }) => playbackPrefetch(id) },
  { key: 'session', path: 'sessions/:id', section: 'audit', hasAccess: needs('audit'), ...page(() => import('../features/sessions/SessionDetailPage.tsx'), 'SessionDetailPage') },
  { key: 'session-watch', path: 'sessions/:id/watch', section: 'audit', hasAccess: needs('audit'), ...page(() => import('../features/live/LiveSessionPage.tsx'), 'LiveSessionPage') },
  { key: 'command-log', path: 'commands', nav: 'nav.commandLog', section: 'audit', icon: <CodeOutlined />, hasAccess: needs('audit'), ...page(() => import('../features/commandLog/CommandLogPage.tsx'), 'CommandLogPage') },
  { key: 'login-log', path: 'audit/logins', nav: 'nav.loginLog', section: 'audit', icon: <LoginOutlined />, hasAccess: needs('audit'), ...page(() => import('../features/audit/LoginLogPage.tsx'), 'LoginLogPage') },
  { key: 'operation-log', path: 'audit/operations', nav: 'nav.operationLog', section: 'audit', icon: <AuditOutlined />, hasAccess: needs('audit'), ...page(() => import('../features/audit/OperationLogPage.tsx'), 'OperationLogPage') },
  { key: 'file-transfers', path: 'audit/file-transfers', nav: 'nav.fileTransfers', section: 'audit', icon: <FolderOpenOutlined />, hasAccess: needs('audit'), ...page(() => import('../features/audit/FileTransfersPage.tsx'), 'FileTransfersPage') },
  { key: 'my-assets', path: 'my-assets', nav: 'nav.myAssets', section: 'self', icon: <ApartmentOutlined />, hasAccess: needs('self'), ...page(() => import('../features/myAssets/MyAssetsPage.tsx'), 'MyAssetsPage') },
  { key: 'files', path: 'files/:asset', section: 'self', hasAccess: needs('self'), ...page(() => import('../features/files/FileManagerPage.tsx'), 'FileManagerPage') },
  { key: 'profile', path: 'profile', nav: 'nav.profile', section: 'self', icon: <FileSearchOutlined />, hasAccess: needs('self'), ...page(() => import('../features/profile/ProfilePage.tsx'), 'ProfilePage') },
  // The web terminal (a deep link, or Connect on My assets and the asset page): xterm is in this chunk only.
  { key: 'terminal', path: 'terminal/:asset', section: 'self', hasAccess: needs('self'), ...page(() => import('../features/terminal/TerminalPage.tsx'), 'TerminalPage') },
  // Last, so that an operator's menu (and landing page) starts with their assets.
  { key: 'jobs', path: 'jobs', nav: 'nav.jobs', section: 'assetsSection', sectionWithoutManage: 'self', icon: <ThunderboltOutlined />, hasAccess: needs('self'), ...page(() => import('../features/jobs/JobsPage.tsx'), 'JobsPage') },
  { key: 'job', path: 'jobs/:id', section: 'assetsSection', sectionWithoutManage: 'self', hasAccess: needs('self'), ...page(() => import('../features/jobs/JobDetailPage.tsx'), 'JobDetailPage') },
];

export const SECTIONS: Section[] = ['overview', 'accounts', 'assetsSection', 'access', 'audit', 'self'];

export function allowedFeatures(abilities: readonly Ability[]): Feature[] {
  return FEATURES.filter((f) => f.hasAccess(abilities));
}

/** The menu section a feature sits in for these abilities. */
export function sectionOf(f: Feature, abilities: readonly Ability[]): Section {
  return f.sectionWithoutManage && !abilities.includes('manage') ? f.sectionWithoutManage : f.section;
}

/** The menu entries the abilities allow, by section in menu order. */
export function menuOf(abilities: readonly Ability[]): { section: Section; features: Feature[] }[] {
  const allowed = allowedFeatures(abilities).filter((f) => f.nav);
  return SECTIONS.map((section) => ({ section, features: allowed.filter((f) => sectionOf(f, abilities) === section) })).filter((g) => g.features.length > 0);
}

/** Where a user lands after login: the first page of the menu they may see. */
export function homePath(abilities: readonly Ability[]): string {
  const first = menuOf(abilities)[0]?.features[0];
  return first ? `/${first.path}` : '/profile';
}

/**
 * Starts loading the page at `pathname` and its queries: called at start-up, so a deep link (a
 * playback URL an auditor was sent) fetches its code and data while the app is still asking who
 * is logged in. A query the caller may not make simply fails; the page is not shown to them anyway.
 */
export function prefetchRoute(pathname: string, client: QueryClient): void {
  for (const f of FEATURES) {
    const match = matchPath({ path: `/${f.path}`, end: true }, pathname);
    if (!match) continue;
    // Queries first: the browser has six connections, and the page's chunks must not queue ahead of its data.
    prefetchQueries(f, match.params, client);
    void f.preload().catch(() => undefined);
    return;
  }
}

/** Starts the page's queries that are not in the cache yet (TanStack Query's usePrefetchQuery, for several). */
export function prefetchQueries(f: Feature, params: Params, client: QueryClient): void {
  for (const q of f.queries?.(params) ?? []) {
    if (!client.getQueryState(q.queryKey)) void client.prefetchQuery(q);
  }
}
