import type { Job, SavedCommand } from '../../core/db/entities/index.ts';
import { outcomeOf, summarize } from '../../core/ops/jobs.ts';
import { iso } from './identity.ts';

/** A job with a summary of how its assets ended; assets still running show their output so far. */
export function presentJob(j: Job) {
  const done = j.results.filter((r) => !r.running).length;
  const total = Number(j.params.assetsTotal ?? done) || 0;
  return {
    id: j.id,
    kind: j.kind,
    status: j.status,
    params: j.params,
    progress: { done, total: Math.max(total, done) },
    summary: summarize(j),
    results: j.results.map((r) => ({
      asset: r.asset, assetName: r.assetName, ok: r.ok, exitCode: r.exitCode, output: r.output,
      outcome: r.running ? 'running' : outcomeOf(r),
    })),
    log: j.log,
    createdBy: j.createdBy,
    createdAt: iso(j.createdAt),
    startedAt: iso(j.startedAt),
    endedAt: iso(j.endedAt),
  };
}

export function presentSavedCommand(c: SavedCommand) {
  return {
    id: c.id, name: c.name, command: c.command, systemUser: c.systemUserId, assets: c.assetIds, nodes: c.nodeIds,
    timeoutSeconds: c.timeoutSeconds, comment: c.comment, createdBy: c.createdBy, createdAt: iso(c.createdAt), updatedAt: iso(c.updatedAt),
  };
}
