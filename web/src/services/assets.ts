import { api, mapPage, type ListPage } from './api.ts';
import { bool, num, refs, str, strOrNull, strings, type Json, type ListParams, type Ref } from './common.ts';
import { makeReacher, type Reacher } from './grants.ts';

export const PLATFORMS = ['linux', 'unix', 'bsd', 'macos', 'other'] as const;
export type Platform = (typeof PLATFORMS)[number];

export interface AssetFacts {
  os?: string;
  osVersion?: string;
  kernel?: string;
  arch?: string;
  hostname?: string;
  cpuModel?: string;
  cpuCount?: number;
  memoryMb?: number;
  disks?: { device: string; mount: string; sizeBytes: number }[];
  interfaces?: { name: string; mac: string; ipv4: string | null }[];
}

export interface Asset {
  id: string;
  name: string;
  address: string;
  port: number;
  platform: string;
  adminUser: string | null;
  active: boolean;
  labels: string[];
  comment: string;
  nodes: Ref[];
  facts: AssetFacts | null;
  factsAt: string | null;
  lastTest: { ok: boolean; at: string | null; message: string } | null;
  createdAt: string | null;
}

export function makeAsset(j: Json): Asset {
  const lt = j.lastTest as Json | null | undefined;
  return {
    id: str(j.id), name: str(j.name), address: str(j.address), port: num(j.port, 22), platform: str(j.platform, 'linux'),
    adminUser: strOrNull(j.adminUser), active: bool(j.active), labels: strings(j.labels), comment: str(j.comment), nodes: refs(j.nodes),
    facts: j.facts && typeof j.facts === 'object' ? (j.facts as AssetFacts) : null, factsAt: strOrNull(j.factsAt),
    lastTest: lt ? { ok: bool(lt.ok), at: strOrNull(lt.at), message: str(lt.message) } : null,
    createdAt: strOrNull(j.createdAt),
  };
}

export interface AssetInput {
  name?: string;
  address?: string;
  port?: number;
  platform?: Platform;
  nodes?: string[];
  adminUser?: string | null;
  active?: boolean;
  labels?: string[];
  comment?: string;
}

export interface HostKey {
  keyType: string;
  fingerprint: string;
  publicKey: string;
  pinnedAt: string | null;
}

export interface AssetListParams extends ListParams {
  node?: string;
  active?: boolean;
  platform?: string;
  /** `key:value` labels, comma-separated: every one must be carried. */
  labels?: string;
}

export const assetsService = {
  async list(q: AssetListParams): Promise<ListPage<Asset>> { return mapPage(await api.get<ListPage<Json>>('/assets', { ...q }), makeAsset); },
  async get(id: string): Promise<Asset> { return makeAsset(await api.get<Json>(`/assets/${id}`)); },
  async create(input: AssetInput): Promise<Asset> { return makeAsset(await api.post<Json>('/assets', input)); },
  async update(id: string, patch: AssetInput): Promise<Asset> { return makeAsset(await api.patch<Json>(`/assets/${id}`, patch)); },
  remove: (id: string) => api.delete(`/assets/${id}`),
  async hostKey(id: string): Promise<HostKey | null> {
    try {
      const j = await api.get<Json>(`/assets/${id}/host-key`);
      return { keyType: str(j.keyType), fingerprint: str(j.fingerprint), publicKey: str(j.publicKey), pinnedAt: strOrNull(j.pinnedAt) };
    } catch (e) {
      if ((e as { status?: number }).status === 404) return null;
      throw e;
    }
  },
  forgetHostKey: (id: string) => api.delete(`/assets/${id}/host-key`),
  async test(id: string): Promise<{ ok: boolean; latencyMs: number; message: string }> {
    const j = await api.post<Json>(`/assets/${id}/test`);
    return { ok: bool(j.ok), latencyMs: num(j.latencyMs), message: str(j.message) };
  },
  /** Starts fact gathering as a job; resolves with the job id. */
  async gatherFacts(id: string): Promise<string> { return str((await api.post<Json>(`/assets/${id}/facts`)).id); },
  async jobStatus(jobId: string): Promise<string> { return str((await api.get<Json>(`/jobs/${jobId}`)).status); },
  async reachers(id: string): Promise<Reacher[]> { return (await api.get<ListPage<Json>>(`/assets/${id}/reachers`)).items.map(makeReacher); },
};
