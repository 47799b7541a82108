// The world of the session API tests: a bastion, operator alice, auditor audrey, assets web01
// and db01, and an API client logged in as each of admin, audrey and alice.
import type { Asset, User } from '../../core/db/entities/index.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './bastion.ts';
import { loggedIn, type ApiClient } from './api.ts';
import { factories } from './factories.ts';
import { cleanup } from './tmp.ts';

export interface AuditWorld {
  b: Bastion;
  f: ReturnType<typeof factories>;
  alice: User;
  web01: Asset;
  db01: Asset;
  admin: ApiClient;
  auditor: ApiClient;
  operator: ApiClient;
  stop(): Promise<void>;
}

/** `seed` makes the file's own rows before anyone logs in. */
export async function startAuditWorld(seed: (w: Pick<AuditWorld, 'b' | 'f' | 'alice' | 'web01' | 'db01'>) => Promise<void>): Promise<AuditWorld> {
  const b = await startBastion();
  const f = factories(b.services);
  const alice = await f.user({ username: 'alice', password: 'Wonder-land-1234' });
  await f.user({ username: 'audrey', password: 'Watch-er-pass-99', role: 'auditor' });
  const web01 = await f.asset({ name: 'web01' });
  const db01 = await f.asset({ name: 'db01' });
  await seed({ b, f, alice, web01, db01 });
  return {
    b, f, alice, web01, db01,
    admin: await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD),
    auditor: await loggedIn(b.baseUrl, 'audrey', 'Watch-er-pass-99'),
    operator: await loggedIn(b.baseUrl, 'alice', 'Wonder-land-1234'),
    async stop() {
      await b.stop();
      await cleanup();
    },
  };
}
