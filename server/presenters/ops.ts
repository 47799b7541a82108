import type { Job } from '../../core/db/entities/index.ts';
import { iso } from './identity.ts';

export function presentJob(j: Job) {
  const done = j.results.length;
  const total = Number(j.params.assetsTotal ?? done) || 0;
  return {
    id: j.id,
    kind: j.kind,
    status: j.status,
    params: j.params,
    progress: { done, total: Math.max(total, done) },
    results: j.results.map((r) => ({ asset: r.asset, assetName: r.assetName, ok: r.ok, exitCode: r.exitCode, output: r.output })),
    log: j.log,
    createdBy: j.createdBy,
    createdAt: iso(j.createdAt),
    startedAt: iso(j.startedAt),
    endedAt: iso(j.endedAt),
  };
}
