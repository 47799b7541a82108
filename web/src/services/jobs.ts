import { api, mapPage, type ListPage } from './api.ts';
import { bool, num, str, strOrNull, type Json, type ListParams } from './common.ts';
// The server's own words (types only: erased at build time, the bundle never needs core/).
import type { JobKind, JobOutcome as AssetOutcome, JobStatus, JobSummary } from '../../../core/ops/jobOutcomes.ts';

export type { JobKind, JobStatus, JobSummary };
export const JOB_KINDS: JobKind[] = ['command', 'connectivity', 'facts', 'push'];
export const JOB_STATUSES: JobStatus[] = ['queued', 'running', 'succeeded', 'partial', 'failed', 'canceled'];
/** How one asset's piece ended, or `running` while it runs. */
export type JobOutcome = AssetOutcome | 'running';
export const JOB_OUTCOMES: JobOutcome[] = ['ok', 'failed', 'timedOut', 'canceled', 'running'];

export interface JobResult {
  asset: string;
  assetName: string;
  ok: boolean;
  exitCode: number | null;
  output: string;
  outcome: JobOutcome;
}

export interface SavedCommand {
  id: string;
  name: string;
  command: string;
  systemUser: string;
  assets: string[];
  nodes: string[];
  timeoutSeconds: number;
  comment: string;
}

export interface SavedCommandInput {
  name: string;
  command: string;
  systemUser: string;
  assets?: string[];
  nodes?: string[];
  timeoutSeconds?: number;
  comment?: string;
}

const ids = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

export function makeSavedCommand(j: Json): SavedCommand {
  return {
    id: str(j.id), name: str(j.name), command: str(j.command), systemUser: str(j.systemUser), assets: ids(j.assets), nodes: ids(j.nodes),
    timeoutSeconds: num(j.timeoutSeconds, 60), comment: str(j.comment),
  };
}

export interface Job {
  id: string;
  kind: JobKind;
  status: JobStatus;
  params: Record<string, unknown>;
  progress: { done: number; total: number };
  summary: JobSummary;
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
  const sm = (j.summary ?? {}) as Json;
  return {
    id: str(j.id), kind: str(j.kind, 'command') as JobKind, status: str(j.status, 'queued') as JobStatus,
    params: j.params && typeof j.params === 'object' ? (j.params as Record<string, unknown>) : {},
    progress: { done: num(p.done), total: num(p.total) },
    summary: { ok: num(sm.ok), failed: num(sm.failed), timedOut: num(sm.timedOut), canceled: num(sm.canceled), pending: num(sm.pending) },
    results: Array.isArray(j.results)
      ? (j.results as Json[]).map((r) => ({
        asset: str(r.asset), assetName: str(r.assetName), ok: bool(r.ok), exitCode: typeof r.exitCode === 'number' ? r.exitCode : null, output: str(r.output),
        outcome: (JOB_OUTCOMES as string[]).includes(str(r.outcome)) ? (str(r.outcome) as JobOutcome) : bool(r.ok) ? 'ok' : 'failed',
      }))
      : [],
    log: logText(j.log), createdBy: strOrNull(j.createdBy), createdAt: strOrNull(j.createdAt), startedAt: strOrNull(j.startedAt), endedAt: strOrNull(j.endedAt),
  };
}

export interface CommandJobInput {
  assets?: string[];
  nodes?: string[];
  /** Also every asset carrying all these labels (`key:value`). */
  labels?: string[];
  systemUser: string;
  command: string;
  timeoutSeconds?: number;
}

export const jobsService = {
  async list(q: ListParams & { kind?: JobKind; status?: JobStatus }): Promise<ListPage<Job>> { return mapPage(await api.get<ListPage<Json>>('/jobs', { ...q }), makeJob); },
  async get(id: string): Promise<Job> { return makeJob(await api.get<Json>(`/jobs/${id}`)); },
  async runCommand(input: CommandJobInput): Promise<Job> { return makeJob(await api.post<Json>('/jobs', { kind: 'command', ...input })); },
  async cancel(id: string): Promise<Job> { return makeJob(await api.post<Json>(`/jobs/${id}/cancel`)); },
  async retryFailed(id: string): Promise<Job> { return makeJob(await api.post<Json>(`/jobs/${id}/retry`)); },
  async savedCommands(q: ListParams = {}): Promise<ListPage<SavedCommand>> { return mapPage(await api.get<ListPage<Json>>('/saved-commands', { limit: 200, ...q }), makeSavedCommand); },
  async saveCommand(input: SavedCommandInput): Promise<SavedCommand> { return makeSavedCommand(await api.post<Json>('/saved-commands', input)); },
  deleteSavedCommand: (id: string) => api.delete(`/saved-commands/${id}`),
  async runSaved(id: string, target: { assets?: string[]; nodes?: string[] } = {}): Promise<Job> { return makeJob(await api.post<Json>(`/saved-commands/${id}/run`, target)); },
  async testNode(nodeId: string): Promise<Job> { return makeJob(await api.post<Json>(`/nodes/${nodeId}/test`)); },
  async nodeFacts(nodeId: string): Promise<Job> { return makeJob(await api.post<Json>(`/nodes/${nodeId}/facts`)); },
  async assetFacts(assetId: string): Promise<Job> { return makeJob(await api.post<Json>(`/assets/${assetId}/facts`)); },
  async pushSystemUser(systemUserId: string, target: { assets?: string[]; nodes?: string[] }): Promise<Job> {
    return makeJob(await api.post<Json>(`/system-users/${systemUserId}/push`, target));
  },
};
