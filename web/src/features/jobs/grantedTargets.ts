import type { GrantedAsset } from '../../services/grants.ts';

/**
 * The system users the command may run as on every chosen asset: a job runs as one system user
 * everywhere, and an operator may only use one they may `connect` as there. The server decides
 * (core/access mayRunCommand); this only keeps the form from offering what it would refuse.
 */
export function commonSystemUsers(assets: GrantedAsset[], chosen: string[]): { value: string; label: string }[] {
  const picked = assets.filter((a) => chosen.includes(a.id));
  const usable = (a: GrantedAsset) => a.systemUsers.filter((su) => su.actions.includes('connect'));
  const first = picked[0];
  if (!first) return [];
  return usable(first)
    .filter((su) => picked.every((a) => usable(a).some((x) => x.id === su.id)))
    .map((su) => ({ value: su.id, label: `${su.name} (${su.username})` }));
}
