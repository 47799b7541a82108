// "My assets" for operators: one row per (asset, system user) that core/access grants, with the
// operator's favourites first, then what they used most recently (their own Session rows, over
// SSH and the web alike), then by name. Favourites are stored per user, so they follow the
// operator to every browser. What is granted is never decided here: rows come from granted().
import { In, type DataSource } from 'typeorm';
import type { Action } from '../db/entities/index.ts';
import { AssetEntity, AssetFavouriteEntity, NodeEntity, SessionEntity } from '../db/entities/index.ts';
import { ForbiddenError } from '../errors.ts';
import { NOT_GRANTED, type AccessService } from './accessService.ts';

export interface MyAssetRow {
  asset: { id: string; name: string; address: string; port: number; platform: string; comment: string; labels: string[]; nodes: string[] };
  systemUser: { id: string; name: string; username: string; priority: number };
  actions: Action[];
  favourite: boolean;
  lastUsedAt: Date | null;
}

export interface MyAssets {
  rows: MyAssetRow[];
  /** The nodes the rows' assets sit on, with their ancestors: the tree to filter by. */
  nodes: { id: string; name: string; parent: string | null }[];
}

const pairKey = (assetId: string, systemUserId: string | null) => `${assetId}/${systemUserId ?? ''}`;

export class MyAssetsService {
  constructor(private readonly ds: DataSource, private readonly access: AccessService) {}

  async list(userId: string): Promise<MyAssets> {
    const granted = await this.access.granted(userId);
    const assetIds = granted.map((g) => g.asset.id);
    const [favourites, recent, labelled] = await Promise.all([
      this.ds.getRepository(AssetFavouriteEntity).find({ where: { userId } }),
      this.ds.getRepository(SessionEntity).createQueryBuilder('s')
        .select('s.asset_id', 'assetId').addSelect('s.system_user_id', 'systemUserId').addSelect('MAX(s.started_at)', 'last')
        .where('s.user_id = :userId', { userId }).groupBy('s.asset_id').addGroupBy('s.system_user_id')
        .getRawMany<{ assetId: string; systemUserId: string | null; last: string | number }>(),
      assetIds.length === 0 ? [] : this.#labels(assetIds),
    ]);
    const fav = new Set(favourites.map((f) => pairKey(f.assetId, f.systemUserId)));
    const used = new Map(recent.map((r) => [pairKey(r.assetId, r.systemUserId), Number(r.last)]));
    const labels = new Map(labelled.map((a) => [a.id, a.labels ?? []]));
    const rows: MyAssetRow[] = [];
    for (const g of granted) {
      const a = g.asset;
      for (const s of g.systemUsers) {
        const key = pairKey(a.id, s.systemUser.id);
        const last = used.get(key);
        rows.push({
          asset: { id: a.id, name: a.name, address: a.address, port: a.port, platform: a.platform, comment: a.comment, labels: labels.get(a.id) ?? [], nodes: a.nodes },
          systemUser: { id: s.systemUser.id, name: s.systemUser.name, username: s.systemUser.username, priority: s.systemUser.priority },
          actions: s.actions,
          favourite: fav.has(key),
          lastUsedAt: last === undefined ? null : new Date(last),
        });
      }
    }
    // granted() is in name order and each asset's system users by priority: a stable sort keeps that within a rank.
    rows.sort((x, y) => Number(y.favourite) - Number(x.favourite) || (y.lastUsedAt?.getTime() ?? 0) - (x.lastUsedAt?.getTime() ?? 0));
    return { rows, nodes: await this.#nodesOf(rows) };
  }

  /** Marks or unmarks a favourite; only a pair granted to the user can be one. */
  async setFavourite(userId: string, assetId: string, systemUserId: string, favourite: boolean): Promise<void> {
    const repo = this.ds.getRepository(AssetFavouriteEntity);
    if (!favourite) {
      await repo.delete({ userId, assetId, systemUserId });
      return;
    }
    const granted = (await this.access.granted(userId)).find((g) => g.asset.id === assetId);
    if (!granted || !granted.systemUsers.some((s) => s.systemUser.id === systemUserId)) throw new ForbiddenError(NOT_GRANTED(assetId), { reason: 'not_granted' });
    await repo.upsert({ userId, assetId, systemUserId, createdAt: new Date() }, ['userId', 'assetId', 'systemUserId']);
  }

  async #labels(ids: string[]): Promise<{ id: string; labels: string[] }[]> {
    const out: { id: string; labels: string[] }[] = [];
    // Bounded IN lists: SQLite takes at most 32766 parameters per statement.
    for (let i = 0; i < ids.length; i += 500) {
      out.push(...await this.ds.getRepository(AssetEntity).find({ select: { id: true, labels: true }, where: { id: In(ids.slice(i, i + 500)) } }));
    }
    return out;
  }

  async #nodesOf(rows: MyAssetRow[]): Promise<MyAssets['nodes']> {
    const wanted = new Set(rows.flatMap((r) => r.asset.nodes));
    if (wanted.size === 0) return [];
    const all = await this.ds.getRepository(NodeEntity).find({ select: { id: true, name: true, parentId: true } });
    const byId = new Map(all.map((n) => [n.id, n]));
    const keep = new Set<string>();
    for (const id of wanted) {
      let n = byId.get(id);
      for (let depth = 0; n && !keep.has(n.id) && depth < 256; depth++) {
        keep.add(n.id);
        n = n.parentId ? byId.get(n.parentId) : undefined;
      }
    }
    return all.filter((n) => keep.has(n.id)).map((n) => ({ id: n.id, name: n.name, parent: n.parentId && keep.has(n.parentId) ? n.parentId : null }));
  }
}
