import { api, mapPage, type ListPage } from './api.ts';
import { bool, num, str, strOrNull, type Json, type ListParams } from './common.ts';

export type JobKind = 'connectivity' | 'facts' | 'push' | 'command';
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';
export const JOB_KINDS: JobKind[] = ['command', 'connectivity', 'facts', 'push'];
export const JOB_STATUSES: JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'canceled'];

export interface JobResult {
  asset: string;
  assetName: string;
  ok: boolean;
  exitCode: number | null;
  output: string;
}

export interface Job {
  id: string;
  kind: JobKind;
  status: JobStatus;
  params: Record<string, unknown>;
  progress: { done: number; total: number };
  results: JobResult[];
  log: string;
  createdBy: string | null;
  createdAt: string | null;
  startedAt: string | null;
  endedAt: string | null;
}

export const isRunning = (j: Pick<Job, 'status'>) => j.status === 'queued' || j.status === 'running';

function logText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n');
  return v === null || v === undefined ? '' : JSON.stringify(v);
}

export function makeJob(j: Json): Job {
  const p = (j.progress ?? {}) as Json;
  return {
    id: str(j.id), kind: str(j.kind, 'command') as JobKind, status: str(j.status, 'queued') as JobStatus,
    params: j.params && typeof j.params === 'object' ? (j.params as Record<string, unknown>) : {},
    progress: { done: num(p.done), total: num(p.total) },
    results: Array.isArray(j.results)
      ? (j.results as Json[]).map((r) => ({ asset: str(r.asset), assetName: str(r.assetName), ok: bool(r.ok), exitCode: typeof r.exitCode === 'number' ? r.exitCode : null, output: str(r.output) }))
      : [],
    log: logText(j.log), createdBy: strOrNull(j.createdBy), createdAt: strOrNull(j.createdAt), startedAt: strOrNull(j.startedAt), endedAt: strOrNull(j.endedAt),
  };
}

export interface CommandJobInput {
  assets?: string[];
  nodes?: string[];
  systemUser: string;
  command: string;
  timeoutSeconds?: number;
}

export const jobsService = {
  async list(q: ListParams & { kind?: JobKind; status?: JobStatus }): Promise<ListPage<Job>> { return mapPage(await api.get<ListPage<Json>>('/jobs', { ...q }), makeJob); },
  async get(id: string): Promise<Job> { return makeJob(await api.get<Json>(`/jobs/${id}`)); },
  async runCommand(input: CommandJobInput): Promise<Job> { return makeJob(await api.post<Json>('/jobs', { kind: 'command', ...input })); },
  async cancel(id: string): Promise<Job> { return makeJob(await api.post<Json>(`/jobs/${id}/cancel`)); },
  async testNode(nodeId: string): Promise<Job> { return makeJob(await api.post<Json>(`/nodes/${nodeId}/test`)); },
  async nodeFacts(nodeId: string): Promise<Job> { return makeJob(await api.post<Json>(`/nodes/${nodeId}/facts`)); },
  async assetFacts(assetId: string): Promise<Job> { return makeJob(await api.post<Json>(`/assets/${assetId}/facts`)); },
  async pushSystemUser(systemUserId: string, target: { assets?: string[]; nodes?: string[] }): Promise<Job> {
    return makeJob(await api.post<Json>(`/system-users/${systemUserId}/push`, target));
  },
};
