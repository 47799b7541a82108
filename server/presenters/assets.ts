import type { AdminUser, Asset, AssetNode, HostKey, SystemUser } from '../../core/db/entities/index.ts';
import type { NodeTreeItem } from '../../core/assets/nodes.ts';
import type { GrantedAsset, Reacher } from '../../core/access/accessService.ts';
import type { MyAssetRow } from '../../core/access/myAssets.ts';
import type { TargetCommands } from '../../gateway/targetSyntax.ts';
import { iso } from './identity.ts';

export function presentNode(n: AssetNode | NodeTreeItem) {
  return {
    id: n.id,
    name: n.name,
    parent: n.parentId,
    ...('path' in n ? { path: n.path, assetCount: n.assetCount, directAssetCount: n.directAssetCount } : {}),
    createdAt: iso(n.createdAt),
  };
}

export function presentAsset(a: Asset) {
  return {
    id: a.id,
    name: a.name,
    address: a.address,
    port: a.port,
    platform: a.platform,
    adminUser: a.adminUserId,
    active: a.active,
    labels: a.labels,
    comment: a.comment,
    nodes: (a.nodes ?? []).map((n) => ({ id: n.id, name: n.name })),
    facts: a.facts,
    factsAt: iso(a.factsAt),
    lastTest: a.lastTestAt ? { ok: a.lastTestOk, at: iso(a.lastTestAt), message: a.lastTestMessage } : null,
    createdAt: iso(a.createdAt),
    updatedAt: iso(a.updatedAt),
  };
}

/** Secrets are write-only: the API says whether one is set, never what it is. */
export function presentSystemUser(s: SystemUser) {
  return {
    id: s.id, name: s.name, username: s.username, loginMode: s.loginMode, priority: s.priority, sudo: s.sudo, shell: s.shell,
    comment: s.comment, hasPassword: s.password !== null, hasPrivateKey: s.privateKey !== null,
    createdAt: iso(s.createdAt), updatedAt: iso(s.updatedAt),
  };
}

export function presentAdminUser(s: AdminUser) {
  return {
    id: s.id, name: s.name, username: s.username, comment: s.comment,
    hasPassword: s.password !== null, hasPrivateKey: s.privateKey !== null,
    createdAt: iso(s.createdAt), updatedAt: iso(s.updatedAt),
  };
}

export function presentHostKey(h: HostKey) {
  return { keyType: h.keyType, fingerprint: h.fingerprint, publicKey: h.publicKey, pinnedAt: iso(h.createdAt) };
}

export function presentGrantedAsset(g: GrantedAsset, sshCommand?: (asset: string, systemUser: string | null) => string) {
  return {
    id: g.asset.id,
    name: g.asset.name,
    address: g.asset.address,
    port: g.asset.port,
    platform: g.asset.platform,
    comment: g.asset.comment,
    systemUsers: g.systemUsers.map((s) => ({ id: s.systemUser.id, name: s.systemUser.name, username: s.systemUser.username, priority: s.systemUser.priority, actions: s.actions })),
    ...(sshCommand ? { sshCommand: sshCommand(g.asset.name, null) } : {}),
  };
}

export function presentReacher(r: Reacher) {
  return {
    user: r.user,
    systemUsers: r.systemUsers.map((s) => ({ id: s.systemUser.id, name: s.systemUser.name, username: s.systemUser.username, actions: s.actions })),
  };
}

/** One row of "My assets": an (asset, system user) pair, its actions, and the commands that reach it. */
export function presentMyAssetRow(r: MyAssetRow, commands: TargetCommands) {
  return {
    asset: { id: r.asset.id, name: r.asset.name, address: r.asset.address, port: r.asset.port, platform: r.asset.platform, comment: r.asset.comment, labels: r.asset.labels, nodes: r.asset.nodes },
    systemUser: { id: r.systemUser.id, name: r.systemUser.name, username: r.systemUser.username, priority: r.systemUser.priority },
    actions: r.actions,
    favourite: r.favourite,
    lastUsedAt: iso(r.lastUsedAt),
    commands,
  };
}
