// Which sessions are folded under an operator's shell (issue 15 item 5). Every scp, sftp and
// rsync connection is a session of its own, as the gateway sees it; an auditor, like a
// JumpServer or Teleport user, reads them as part of the shell the operator was working in.
//
// The rule, decided here and nowhere else:
// - A session is TRANSFER-ONLY when it only moved files: an SFTP session (sftp, scp in SFTP
//   mode, the web file manager), or an exec session that logged file transfers (legacy scp,
//   rsync; a plain `ssh host uptime` logs none and stays on its own).
// - It is FOLDED under an INTERACTIVE session (kind `shell`, over SSH or the web terminal) of the
//   same user, asset and system user that overlaps it or that it closely follows: the shell
//   started before the transfer ended (or is still running) and had not ended more than
//   FOLD_GAP_MS before the transfer started.
// - Of several such shells it goes under the one that started last (ties: the smaller id), so
//   each transfer has exactly one place.
// The sessions list (with `fold`) hides folded sessions at the top level and lists them under
// their shell; the SQL below says "has a shell to go under", parentOf says which one.
import type { Session } from '../db/entities/index.ts';

/** How long after a shell ended a transfer still counts as part of it (`scp` right after `exit`). */
export const FOLD_GAP_MS = 5 * 60_000;

/** At most this many folded sessions are listed under the shells of one page. */
export const FOLDED_MAX = 2000;

/** SQL: the session under `alias` is transfer-only. */
export function transferOnlySql(alias: string): string {
  return `(${alias}.kind = 'sftp' OR (${alias}.kind = 'exec' AND EXISTS (SELECT 1 FROM file_transfer ft_${alias} WHERE ft_${alias}.session_id = ${alias}.id)))`;
}

/**
 * SQL: the session under `parent` is one the session under `child` may be folded under.
 * Parameters: `:foldNow` (epoch ms, for sessions still running) and `:foldGap` (FOLD_GAP_MS).
 */
export function foldParentSql(parent: string, child: string): string {
  return `${parent}.kind = 'shell' AND ${parent}.user_id = ${child}.user_id AND ${parent}.asset_id = ${child}.asset_id`
    + ` AND ${parent}.system_user_id = ${child}.system_user_id`
    + ` AND ${parent}.started_at <= COALESCE(${child}.ended_at, :foldNow)`
    + ` AND (${parent}.ended_at IS NULL OR ${parent}.ended_at >= ${child}.started_at - :foldGap)`;
}

export const foldParams = (now: number) => ({ foldNow: now, foldGap: FOLD_GAP_MS });

/** The same test as foldParentSql, on rows already read. */
export function mayFoldUnder(parent: Session, child: Session, now: number): boolean {
  return parent.kind === 'shell' && parent.userId === child.userId && parent.assetId === child.assetId
    && parent.systemUserId !== null && parent.systemUserId === child.systemUserId
    && parent.startedAt.getTime() <= (child.endedAt?.getTime() ?? now)
    && (parent.endedAt === null || parent.endedAt.getTime() >= child.startedAt.getTime() - FOLD_GAP_MS);
}

/** The shell a transfer-only session goes under, of the `shells` given; null when none fits. */
export function parentOf(child: Session, shells: readonly Session[], now: number): Session | null {
  let best: Session | null = null;
  for (const p of shells) {
    if (!mayFoldUnder(p, child, now)) continue;
    if (!best || p.startedAt.getTime() > best.startedAt.getTime() || (p.startedAt.getTime() === best.startedAt.getTime() && p.id < best.id)) best = p;
  }
  return best;
}

/** The same test as transferOnlySql, for a session whose count of transfer rows is known. */
export const isTransferOnly = (s: Pick<Session, 'kind'>, transfers: number): boolean => s.kind === 'sftp' || (s.kind === 'exec' && transfers > 0);
