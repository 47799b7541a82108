import { api, mapPage, type ListPage } from './api.ts';
import { bool, num, str, strOrNull, strings, type Ability, type Json } from './common.ts';
import { makeUser, type User } from './users.ts';
import { makeUserKey, type UserKey } from './userKeys.ts';
import { makeGrantedAsset, type GrantedAsset } from './grants.ts';

export interface Me extends User {
  abilities: Ability[];
  sshPort: number;
  /** The role requires MFA and none is set up: the session can only enrol. */
  mfaEnrolmentRequired: boolean;
}

export function makeMe(j: Json): Me {
  const abilities = strings(j.abilities).filter((a): a is Ability => a === 'manage' || a === 'audit' || a === 'self');
  return { ...makeUser(j), abilities, sshPort: num(j.sshPort, 2222), mfaEnrolmentRequired: bool(j.mfaEnrolmentRequired) };
}

export interface MfaStatus {
  enabled: boolean;
  recoveryCodesLeft: number;
  requiredByRole: boolean;
}

export type MfaPolicy = Record<'admin' | 'auditor' | 'user', boolean>;

/** The server's password rules (GET /auth/password-policy), checked as the user types. */
export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
  usernameMinLength: number;
  rules: string[];
  commonWords: string[];
  commonExact: string[];
  lookAlikes: Record<string, string>;
}

export interface LoginResult {
  user: User;
  mustChangePassword: boolean;
}

export interface ApiToken {
  id: string;
  name: string;
  prefix: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  createdAt: string | null;
}

export function makeToken(j: Json): ApiToken {
  return { id: str(j.id), name: str(j.name), prefix: str(j.prefix), expiresAt: strOrNull(j.expiresAt), lastUsedAt: strOrNull(j.lastUsedAt), createdAt: strOrNull(j.createdAt) };
}

export interface TotpEnrolment {
  secret: string;
  uri: string;
}

export const meService = {
  async me(): Promise<Me> { return makeMe(await api.get<Json>('/me')); },
  async login(username: string, password: string, totp?: string): Promise<LoginResult> {
    const r = await api.post<Json>('/auth/login', totp ? { username, password, totp } : { username, password });
    return { user: makeUser((r.user ?? {}) as Json), mustChangePassword: bool(r.mustChangePassword) };
  },
  logout: () => api.post<void>('/auth/logout'),
  changePassword: (oldPassword: string, newPassword: string) => api.post<void>('/auth/password', { oldPassword, newPassword }),
  async keys(): Promise<UserKey[]> { return (await api.get<ListPage<Json>>('/me/keys')).items.map(makeUserKey); },
  async addKey(publicKey: string, name?: string): Promise<UserKey> { return makeUserKey(await api.post<Json>('/me/keys', name ? { publicKey, name } : { publicKey })); },
  removeKey: (id: string) => api.delete(`/me/keys/${id}`),
  async tokens(): Promise<ApiToken[]> { return (await api.get<ListPage<Json>>('/me/tokens')).items.map(makeToken); },
  async createToken(name: string, expiresAt: string | null): Promise<ApiToken & { token: string }> {
    const j = await api.post<Json>('/me/tokens', { name, expiresAt });
    return { ...makeToken(j), token: str(j.token) };
  },
  removeToken: (id: string) => api.delete(`/me/tokens/${id}`),
  async startTotp(): Promise<TotpEnrolment> {
    const j = await api.post<Json>('/me/totp');
    return { secret: str(j.secret), uri: str(j.uri) };
  },
  async confirmTotp(code: string): Promise<string[]> {
    return strings((await api.post<Json>('/me/totp/confirm', { code })).recoveryCodes);
  },
  async mfa(): Promise<MfaStatus> {
    const j = await api.get<Json>('/me/mfa');
    return { enabled: bool(j.enabled), recoveryCodesLeft: num(j.recoveryCodesLeft, 0), requiredByRole: bool(j.requiredByRole) };
  },
  disableTotp: (password: string) => api.post<void>('/me/totp/disable', { password }),
  async renewRecoveryCodes(password: string): Promise<string[]> {
    return strings((await api.post<Json>('/me/totp/recovery-codes', { password })).recoveryCodes);
  },
  async mfaPolicy(): Promise<MfaPolicy> {
    const j = await api.get<Json>('/mfa-policy');
    return { admin: bool(j.admin), auditor: bool(j.auditor), user: bool(j.user) };
  },
  setMfaPolicy: (patch: Partial<MfaPolicy>) => api.patch<Json>('/mfa-policy', patch),
  passwordPolicy: () => api.get<PasswordPolicy>('/auth/password-policy'),
  async assets(search?: string): Promise<ListPage<GrantedAsset>> {
    return mapPage(await api.get<ListPage<Json>>('/me/assets', { search }), makeGrantedAsset);
  },
};
