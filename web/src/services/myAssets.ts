import { api } from './api.ts';
import { bool, num, str, strOrNull, strings, type Action, type Json } from './common.ts';

/** One row of My assets: an (asset, system user) pair granted to the caller, as core/access decided. */
export interface MyAssetRow {
  asset: { id: string; name: string; address: string; port: number; platform: string; comment: string; labels: string[]; nodes: string[] };
  systemUser: { id: string; name: string; username: string; priority: number };
  actions: Action[];
  favourite: boolean;
  lastUsedAt: string | null;
  commands: { ssh: string; scp: string; sftp: string };
}

export interface MyAssetNode {
  id: string;
  name: string;
  parent: string | null;
}

export interface MyAssets {
  items: MyAssetRow[];
  nodes: MyAssetNode[];
}

const ACTIONS = new Set<string>(['connect', 'upload', 'download', 'tunnel']);

export function makeMyAssetRow(j: Json): MyAssetRow {
  const a = (j.asset ?? {}) as Json;
  const s = (j.systemUser ?? {}) as Json;
  const c = (j.commands ?? {}) as Json;
  return {
    asset: { id: str(a.id), name: str(a.name), address: str(a.address), port: num(a.port, 22), platform: str(a.platform), comment: str(a.comment), labels: strings(a.labels), nodes: strings(a.nodes) },
    systemUser: { id: str(s.id), name: str(s.name), username: str(s.username), priority: num(s.priority) },
    actions: strings(j.actions).filter((x): x is Action => ACTIONS.has(x)),
    favourite: bool(j.favourite),
    lastUsedAt: strOrNull(j.lastUsedAt),
    commands: { ssh: str(c.ssh), scp: str(c.scp), sftp: str(c.sftp) },
  };
}

/** The browser terminal's deep link for a row (the terminal page is its own feature). */
export function terminalPath(row: MyAssetRow): string {
  return `/terminal/${encodeURIComponent(row.asset.name)}?systemUser=${encodeURIComponent(row.systemUser.name)}`;
}

/** The web file manager for a row. */
export function filesPath(row: MyAssetRow): string {
  return `/files/${encodeURIComponent(row.asset.name)}?systemUser=${encodeURIComponent(row.systemUser.name)}`;
}

export const myAssetsService = {
  async list(): Promise<MyAssets> {
    const j = await api.get<Json>('/me/targets');
    const items = Array.isArray(j.items) ? (j.items as Json[]).map(makeMyAssetRow) : [];
    const nodes = Array.isArray(j.nodes) ? (j.nodes as Json[]).map((n) => ({ id: str(n.id), name: str(n.name), parent: strOrNull(n.parent) })) : [];
    return { items, nodes };
  },
  setFavourite: (row: MyAssetRow, on: boolean) => {
    const path = `/me/favourites/${row.asset.id}/${row.systemUser.id}`;
    return on ? api.put<void>(path) : api.delete(path);
  },
};
