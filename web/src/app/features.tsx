import { lazy, type ComponentType, type LazyExoticComponent, type ReactNode } from 'react';
import {
  ApartmentOutlined, AuditOutlined, CodeOutlined, FilterOutlined, FolderOpenOutlined, ThunderboltOutlined, CloudServerOutlined, DashboardOutlined, DesktopOutlined, FileSearchOutlined,
  IdcardOutlined, KeyOutlined, LoginOutlined, SafetyOutlined, TeamOutlined, UserOutlined,
} from '@ant-design/icons';
import type { Ability } from '../services/common.ts';

export type Section = 'overview' | 'accounts' | 'assetsSection' | 'access' | 'audit' | 'self';

export interface Feature {
  key: string;
  /** Route pattern, relative to the app root. */
  path: string;
  /** Message key of its navigation entry; features without one are not in the menu (detail pages). */
  nav?: `nav.${string}`;
  section: Section;
  icon?: ReactNode;
  /** Deny by default: a feature is reachable only when the caller's abilities (from GET /me) allow it. */
  hasAccess: (abilities: readonly Ability[]) => boolean;
  Component: LazyExoticComponent<ComponentType>;
}

const needs = (ability: Ability) => (abilities: readonly Ability[]) => abilities.includes(ability);

const page = <M extends Record<string, unknown>>(load: () => Promise<M>, name: keyof M) =>
  lazy(async () => ({ default: (await load())[name] as ComponentType }));

/** Every page of the app, in menu order (Teleport's features.tsx). */
export const FEATURES: Feature[] = [
  { key: 'dashboard', path: 'dashboard', nav: 'nav.dashboard', section: 'overview', icon: <DashboardOutlined />, hasAccess: needs('audit'), Component: page(() => import('../features/dashboard/DashboardPage.tsx'), 'DashboardPage') },
  { key: 'users', path: 'users', nav: 'nav.users', section: 'accounts', icon: <UserOutlined />, hasAccess: needs('manage'), Component: page(() => import('../features/users/UsersPage.tsx'), 'UsersPage') },
  { key: 'user-groups', path: 'user-groups', nav: 'nav.userGroups', section: 'accounts', icon: <TeamOutlined />, hasAccess: needs('manage'), Component: page(() => import('../features/userGroups/UserGroupsPage.tsx'), 'UserGroupsPage') },
  { key: 'assets', path: 'assets', nav: 'nav.assets', section: 'assetsSection', icon: <CloudServerOutlined />, hasAccess: needs('manage'), Component: page(() => import('../features/assets/AssetsPage.tsx'), 'AssetsPage') },
  { key: 'asset', path: 'assets/:id', section: 'assetsSection', hasAccess: needs('manage'), Component: page(() => import('../features/assets/AssetDetailPage.tsx'), 'AssetDetailPage') },
  { key: 'system-users', path: 'system-users', nav: 'nav.systemUsers', section: 'assetsSection', icon: <IdcardOutlined />, hasAccess: needs('manage'), Component: page(() => import('../features/accounts/SystemUsersPage.tsx'), 'SystemUsersPage') },
  { key: 'admin-users', path: 'admin-users', nav: 'nav.adminUsers', section: 'assetsSection', icon: <KeyOutlined />, hasAccess: needs('manage'), Component: page(() => import('../features/accounts/AdminUsersPage.tsx'), 'AdminUsersPage') },
  { key: 'jobs', path: 'jobs', nav: 'nav.jobs', section: 'assetsSection', icon: <ThunderboltOutlined />, hasAccess: needs('manage'), Component: page(() => import('../features/jobs/JobsPage.tsx'), 'JobsPage') },
  { key: 'job', path: 'jobs/:id', section: 'assetsSection', hasAccess: needs('manage'), Component: page(() => import('../features/jobs/JobDetailPage.tsx'), 'JobDetailPage') },
  { key: 'permissions', path: 'permissions', nav: 'nav.permissions', section: 'access', icon: <SafetyOutlined />, hasAccess: needs('manage'), Component: page(() => import('../features/permissions/PermissionsPage.tsx'), 'PermissionsPage') },
  { key: 'command-filters', path: 'command-filters', nav: 'nav.commandFilters', section: 'access', icon: <FilterOutlined />, hasAccess: needs('manage'), Component: page(() => import('../features/commandFilters/CommandFiltersPage.tsx'), 'CommandFiltersPage') },
  { key: 'sessions', path: 'sessions', nav: 'nav.sessions', section: 'audit', icon: <DesktopOutlined />, hasAccess: needs('audit'), Component: page(() => import('../features/sessions/SessionsPage.tsx'), 'SessionsPage') },
  { key: 'session-play', path: 'sessions/:id/play', section: 'audit', hasAccess: needs('audit'), Component: page(() => import('../features/playback/PlaybackPage.tsx'), 'PlaybackPage') },
  { key: 'session-watch', path: 'sessions/:id/watch', section: 'audit', hasAccess: needs('audit'), Component: page(() => import('../features/live/LiveSessionPage.tsx'), 'LiveSessionPage') },
  { key: 'command-log', path: 'commands', nav: 'nav.commandLog', section: 'audit', icon: <CodeOutlined />, hasAccess: needs('audit'), Component: page(() => import('../features/commandLog/CommandLogPage.tsx'), 'CommandLogPage') },
  { key: 'login-log', path: 'audit/logins', nav: 'nav.loginLog', section: 'audit', icon: <LoginOutlined />, hasAccess: needs('audit'), Component: page(() => import('../features/audit/LoginLogPage.tsx'), 'LoginLogPage') },
  { key: 'operation-log', path: 'audit/operations', nav: 'nav.operationLog', section: 'audit', icon: <AuditOutlined />, hasAccess: needs('audit'), Component: page(() => import('../features/audit/OperationLogPage.tsx'), 'OperationLogPage') },
  { key: 'file-transfers', path: 'audit/file-transfers', nav: 'nav.fileTransfers', section: 'audit', icon: <FolderOpenOutlined />, hasAccess: needs('audit'), Component: page(() => import('../features/audit/FileTransfersPage.tsx'), 'FileTransfersPage') },
  { key: 'my-assets', path: 'my-assets', nav: 'nav.myAssets', section: 'self', icon: <ApartmentOutlined />, hasAccess: needs('self'), Component: page(() => import('../features/profile/MyAssetsPage.tsx'), 'MyAssetsPage') },
  { key: 'profile', path: 'profile', nav: 'nav.profile', section: 'self', icon: <FileSearchOutlined />, hasAccess: needs('self'), Component: page(() => import('../features/profile/ProfilePage.tsx'), 'ProfilePage') },
];

export const SECTIONS: Section[] = ['overview', 'accounts', 'assetsSection', 'access', 'audit', 'self'];

export function allowedFeatures(abilities: readonly Ability[]): Feature[] {
  return FEATURES.filter((f) => f.hasAccess(abilities));
}

/** Where a user lands after login: the first page of the menu they may see. */
export function homePath(abilities: readonly Ability[]): string {
  const first = allowedFeatures(abilities).find((f) => f.nav);
  return first ? `/${first.path}` : '/profile';
}
