import { api, ApiError } from './api.ts';
import { makeJob, type Job } from './jobs.ts';
import { bool, num, str, type Json } from './common.ts';

export type BulkResource = 'users' | 'assets' | 'system-users' | 'permissions';
export type BulkAction = 'delete' | 'enable' | 'disable' | 'move' | 'test' | 'facts' | 'addToPermission';

export interface BulkItem {
  id: string;
  ok: boolean;
  /** Why this item was not done, as the single endpoint would have answered (worded by describeApiError). */
  error: ApiError | null;
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
      // A per-item refusal has no HTTP status of its own: 400 stands for "refused", the code and reason say why.
      const details = e?.details && typeof e.details === 'object' ? e.details as Record<string, unknown> : undefined;
      return { id: str(r.id), ok: bool(r.ok), error: e ? new ApiError(400, { code: str(e.code), message: str(e.message), ...(details ? { details } : {}) }) : null };
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
