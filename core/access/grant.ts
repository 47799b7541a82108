import type { Action } from '../db/entities/index.ts';
import type { AssetFacts, SystemUserFacts } from './snapshot.ts';

const MINT = Symbol('core/access grant mint');

/**
 * Proof that core/access allowed a user to use an asset as a system user. Only this module
 * can make one (the constructor needs a module-private symbol), so the gateway cannot dial
 * anything it was not granted.
 */
export class Grant {
  readonly userId: string;
  readonly asset: AssetFacts;
  readonly systemUser: SystemUserFacts;
  readonly actions: ReadonlySet<Action>;
  /** When the grant stops holding unless renewed by a fresh decision; null means open-ended. */
  readonly expiresAt: number | null;

  constructor(mint: symbol, init: { userId: string; asset: AssetFacts; systemUser: SystemUserFacts; actions: Set<Action>; expiresAt: number | null }) {
    if (mint !== MINT) throw new Error('grants are made by core/access only');
    this.userId = init.userId;
    this.asset = init.asset;
    this.systemUser = init.systemUser;
    this.actions = init.actions;
    this.expiresAt = init.expiresAt;
    Object.freeze(this);
  }

  allows(action: Action): boolean {
    return this.actions.has(action);
  }
}

export function mintGrant(init: ConstructorParameters<typeof Grant>[1]): Grant {
  return new Grant(MINT, init);
}
