// Step 2 of the pipeline: which granted asset (and system user) does the operator mean?
// Only assets core/access grants are ever looked at, so "no such asset" and "not allowed"
// read the same (no oracle).
import { NOT_GRANTED, type GrantedAsset, type GrantedSystemUser } from '../core/access/accessService.ts';
import type { Action } from '../core/db/entities/index.ts';
import { ForbiddenError } from '../core/errors.ts';

/** The granted asset named `text` (name first, then address), or an error naming `text`. */
export function findAsset(granted: readonly GrantedAsset[], text: string): GrantedAsset {
  const byName = granted.find((g) => g.asset.name === text) ?? granted.find((g) => g.asset.name.toLowerCase() === text.toLowerCase());
  if (byName) return byName;
  const byAddress = granted.filter((g) => g.asset.address === text);
  if (byAddress.length === 1) return byAddress[0]!;
  if (byAddress.length > 1) throw new ForbiddenError(`several assets have the address '${text}'; use one of their names: ${byAddress.slice(0, 5).map((g) => g.asset.name).join(', ')}`, { reason: 'ambiguous_address' });
  throw new ForbiddenError(NOT_GRANTED(text), { reason: 'not_granted' });
}

/** The system users of `asset` allowed `action`, highest priority first; narrowed to `wanted` when given. */
export function systemUsersFor(asset: GrantedAsset, action: Action, wanted: string | null, targetText: string): GrantedSystemUser[] {
  let list = asset.systemUsers.filter((s) => s.actions.includes(action));
  // The asset is granted, so the operator may learn why it is not usable: say so, not "no asset".
  const name = asset.asset.name;
  if (list.length === 0) {
    const actions = [...new Set(asset.systemUsers.flatMap((s) => s.actions))].join(', ');
    throw new ForbiddenError(`${action} is not allowed to you on ${name}${actions ? ` (your permissions there allow: ${actions})` : ''}`, { reason: 'action_not_allowed' });
  }
  if (wanted !== null) {
    const byName = list.filter((s) => s.systemUser.name === wanted);
    const chosen = byName.length ? byName : list.filter((s) => s.systemUser.username === wanted);
    if (chosen.length === 0 && asset.systemUsers.some((s) => s.systemUser.name === wanted || s.systemUser.username === wanted)) {
      throw new ForbiddenError(`${action} is not allowed to you as ${wanted} on ${name}`, { reason: 'action_not_allowed' });
    }
    // Unknown and not granted read the same: only the operator's own system users are named.
    if (chosen.length === 0) throw new ForbiddenError(`system user '${wanted}' is not granted to you on ${name}; yours there: ${list.map((s) => s.systemUser.username).join(', ')}`, { reason: 'system_user_not_granted' });
    list = chosen;
  }
  if (list.length === 0) throw new ForbiddenError(NOT_GRANTED(targetText), { reason: 'not_granted' });
  return list;
}

/** Parses what an operator types in the menu: `web01`, `deploy@web01`. */
export function parseMenuTarget(text: string): { systemUser: string | null; asset: string } {
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) return { systemUser: null, asset: text };
  return { systemUser: text.slice(0, at), asset: text.slice(at + 1) };
}
