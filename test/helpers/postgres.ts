// Starts a throwaway PostgreSQL (Debian postgresql package) with initdb + pg_ctl
// in a temp dir on a free loopback port, run as the `postgres` system user.
// Does not use or need the distribution's cluster service.
import { execFileSync } from 'node:child_process';
import { after, before } from 'node:test';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type Options } from 'execa';
import { freePort } from './ports.ts';
import { makeTempDir, removeTempDir } from './tmp.ts';

export const POSTGRES_DATABASE = 'bastion_test';
export const POSTGRES_USER = 'bastion';

export interface Postgres {
  /** `postgres://bastion:<password>@127.0.0.1:<port>/bastion_test` */
  readonly url: string;
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly dir: string;
  /** `pg_ctl stop -m immediate` and removes the dir. Idempotent. */
  stop(): Promise<void>;
  /** An outage: stops the server (immediate, keeping the data) and resolves once it is down. */
  pause(): Promise<void>;
  /** Ends the outage: starts the server again on the same port and data; resolves once it accepts connections. */
  resume(): Promise<void>;
}

export type PostgresOrSkip = Postgres | { skip: string };

/** Usage: `const pg = await startPostgres(); if ('skip' in pg) return t.skip(pg.skip);` */
export async function startPostgres(): Promise<PostgresOrSkip> {
  if (process.getuid?.() !== 0) return { skip: 'PostgreSQL tests need root (to run initdb as the postgres user)' };
  const bin = findPostgresBin();
  if (!bin) return { skip: 'PostgreSQL binaries missing (/usr/lib/postgresql/*/bin/initdb; apt-get install postgresql)' };
  const owner = await systemUser('postgres');
  if (!owner) return { skip: 'no `postgres` system user (apt-get install postgresql)' };

  const dir = makeTempDir('bastion-pg-');
  chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const password = randomBytes(12).toString('hex');
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  chownSync(pwfile, owner.uid, owner.gid);

  try {
    await asPostgres(join(bin, 'initdb'), [
      '-D', data,
      '-U', POSTGRES_USER,
      `--pwfile=${pwfile}`,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '--no-locale',
      '-E', 'UTF8',
      '--no-sync',
    ], dir);

    const port = await startServer(bin, data, dir);
    await asPostgres(join(bin, 'createdb'), ['-h', dir, '-p', String(port), '-U', POSTGRES_USER, POSTGRES_DATABASE], dir);
    const instance = new PostgresInstance(bin, data, dir, port, password);
    live.add(instance);
    return instance;
  } catch (err) {
    stopSync(bin, data);
    removeTempDir(dir);
    throw err;
  }
}

const live = new Set<PostgresInstance>();

// If a test file dies without stop(), do not leave postgres running.
// Prepended so it runs before tmp.ts removes the directories.
process.prependListener('exit', () => {
  for (const instance of live) instance.stopNow();
});

class PostgresInstance implements Postgres {
  readonly host = '127.0.0.1' as const;
  readonly user = POSTGRES_USER;
  readonly database = POSTGRES_DATABASE;
  readonly url: string;
  private stopped = false;

  constructor(
    private readonly bin: string,
    private readonly data: string,
    readonly dir: string,
    readonly port: number,
    readonly password: string,
  ) {
    this.url = `postgres://${POSTGRES_USER}:${password}@127.0.0.1:${port}/${POSTGRES_DATABASE}`;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
    await asPostgres(join(this.bin, 'pg_ctl'), ['-D', this.data, '-m', 'immediate', '-w', 'stop'], this.dir, false);
    removeTempDir(this.dir);
  }

  async pause(): Promise<void> {
    await asPostgres(join(this.bin, 'pg_ctl'), ['-D', this.data, '-m', 'immediate', '-w', 'stop'], this.dir);
  }

  async resume(): Promise<void> {
    const serverOptions = [
      '-c listen_addresses=127.0.0.1', `-c port=${this.port}`, `-c unix_socket_directories=${this.dir}`,
      '-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off',
    ].join(' ');
    await asPostgres(join(this.bin, 'pg_ctl'), ['-D', this.data, '-l', join(this.dir, 'postgres.log'), '-w', '-t', '30', '-o', serverOptions, 'start'], this.dir);
  }

  stopNow(): void {
    if (this.stopped) return;
    this.stopped = true;
    stopSync(this.bin, this.data);
  }
}

/** pg_ctl start on a free port; retries with another port if the bind lost a race. */
async function startServer(bin: string, data: string, dir: string): Promise<number> {
  const logFile = join(dir, 'postgres.log');
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const serverOptions = [
      '-c listen_addresses=127.0.0.1',
      `-c port=${port}`,
      `-c unix_socket_directories=${dir}`,
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
    ].join(' ');
    try {
      await asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-l', logFile, '-w', '-t', '30', '-o', serverOptions, 'start'], dir);
      return port;
    } catch (err) {
      lastError = err;
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      if (!/could not bind|Address already in use/i.test(log)) {
        throw new Error(`startPostgres: pg_ctl start failed: ${(err as Error).message}\n--- postgres.log ---\n${log}`);
      }
    }
  }
  throw lastError;
}

function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  // Prefer 15 (Debian 12), else the newest installed.
  const chosen = versions.includes('15') ? '15' : versions[0];
  return chosen === undefined ? undefined : join(root, chosen, 'bin');
}

async function systemUser(name: string): Promise<{ uid: number; gid: number } | undefined> {
  const uid = await execa('id', ['-u', name], { reject: false });
  const gid = await execa('id', ['-g', name], { reject: false });
  if (uid.exitCode !== 0 || gid.exitCode !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

// A clean environment: no PG* variables from the caller, C locale, a cwd the
// postgres user can read.
function postgresEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C' };
}

async function asPostgres(command: string, args: string[], cwd: string, reject = true): Promise<void> {
  const options: Options = { cwd, env: postgresEnv(), extendEnv: false, reject };
  await execa('runuser', ['-u', 'postgres', '--', command, ...args], options);
}

function stopSync(bin: string, data: string): void {
  try {
    execFileSync('runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop'], {
      cwd: '/',
      env: postgresEnv(),
      stdio: 'ignore',
    });
  } catch {
    // not running
  }
}

/**
 * For a test file whose suites run on SQLite and again on PostgreSQL: one PostgreSQL started
 * before the file's tests and stopped after them. `pg` stays null, and `skip` says why, where
 * PostgreSQL cannot run here.
 */
export function postgresForFile(): { readonly pg: Postgres | null; readonly skip: string } {
  const state: { pg: Postgres | null; skip: string } = { pg: null, skip: '' };
  before(async () => {
    const r = await startPostgres();
    if ('skip' in r) state.skip = r.skip;
    else state.pg = r;
  });
  after(async () => { await state.pg?.stop(); });
  return state;
}
