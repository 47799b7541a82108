import { api } from './api.ts';
import { makeJob, type Job } from './jobs.ts';
import { bool, num, str, type Json } from './common.ts';

export type BulkResource = 'users' | 'assets' | 'system-users' | 'permissions';
export type BulkAction = 'delete' | 'enable' | 'disable' | 'move' | 'test' | 'facts' | 'addToPermission';

export interface BulkItem {
  id: string;
  ok: boolean;
  error: { code: string; message: string } | null;
}

/** Every item's outcome of one bulk request. */
export interface BulkResult {
  ok: number;
  failed: number;
  results: BulkItem[];
  job: Job | null;
}

export function makeBulkResult(j: Json): BulkResult {
  return {
    ok: num(j.ok), failed: num(j.failed),
    results: Array.isArray(j.results) ? (j.results as Json[]).map((r) => {
      const e = r.error as Json | undefined;
      return { id: str(r.id), ok: bool(r.ok), error: e ? { code: str(e.code), message: str(e.message) } : null };
    }) : [],
    job: j.job && typeof j.job === 'object' ? makeJob(j.job as Json) : null,
  };
}

export interface LabelCount {
  label: string;
  assets: number;
}

export const bulkService = {
  async run(resource: BulkResource, body: { action: BulkAction; ids: string[]; node?: string; permission?: string }): Promise<BulkResult> {
    return makeBulkResult(await api.post<Json>(`/${resource}/bulk`, body));
  },
  async labels(): Promise<LabelCount[]> {
    const r = await api.get<{ items: Json[] }>('/labels');
    return r.items.map((l) => ({ label: str(l.label), assets: num(l.assets) }));
  },
};
