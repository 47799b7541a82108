import type { DataSource } from 'typeorm';
import type { Actor } from '../actor.ts';
import { NotFoundError } from '../errors.ts';
import { newId } from '../ids.ts';
import { AssetEntity, HostKeyEntity, type HostKey } from '../db/entities/index.ts';
import { writeOperation } from '../audit/operationLog.ts';
import { fingerprintOf } from '../identity/sshKeys.ts';

export type HostKeyVerdict = { ok: true; pinned: boolean; fingerprint: string } | { ok: false; expected: string; got: string };

/** Trust on first use: the first key an asset shows is pinned; a different key later is refused (rule 10). */
export class HostKeyService {
  constructor(private readonly ds: DataSource) {}

  get(assetId: string): Promise<HostKey | null> {
    return this.ds.getRepository(HostKeyEntity).findOneBy({ assetId });
  }

  async check(assetId: string, keyBlob: Buffer): Promise<HostKeyVerdict> {
    const fingerprint = fingerprintOf(keyBlob);
    const existing = await this.get(assetId);
    if (existing) return existing.fingerprint === fingerprint ? { ok: true, pinned: false, fingerprint } : { ok: false, expected: existing.fingerprint, got: fingerprint };
    const keyType = keyBlob.subarray(4, 4 + keyBlob.readUInt32BE(0)).toString('latin1');
    try {
      await this.ds.getRepository(HostKeyEntity).insert({ id: newId(), assetId, keyType, fingerprint, publicKey: `${keyType} ${keyBlob.toString('base64')}`, createdAt: new Date() });
    } catch {
      // Another session pinned it at the same moment; compare with what won.
      const won = await this.get(assetId);
      if (won && won.fingerprint !== fingerprint) return { ok: false, expected: won.fingerprint, got: fingerprint };
    }
    return { ok: true, pinned: true, fingerprint };
  }

  async clear(actor: Actor, assetId: string): Promise<void> {
    await this.ds.transaction(async (em) => {
      const asset = await em.getRepository(AssetEntity).findOneBy({ id: assetId });
      if (!asset) throw new NotFoundError('asset not found', { reason: 'asset_not_found' });
      const res = await em.getRepository(HostKeyEntity).delete({ assetId });
      if (!res.affected) throw new NotFoundError('no host key is pinned for this asset', { reason: 'no_host_key' });
      await writeOperation(em, actor, { action: 'clear_host_key', resourceType: 'asset', resourceId: assetId, resourceName: asset.name });
    });
  }
}
