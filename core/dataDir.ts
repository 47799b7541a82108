// The data directory holds what must stay private to the bastion's own account: the SQLite
// database (password hashes, the whole command log) with its WAL/SHM files, the host keys,
// secret.key and the recordings. It is created 0700 and every file in it is 0600; a
// start-up finds looser modes (an old install, a restore from backup, a careless `cp`),
// tightens them and says so, one line per file — or refuses when it cannot.
//
// Several processes may start at once on one fresh data directory (`bastion gateway` twice,
// a gateway and a server): files created once (host keys, secret.key) are written to a
// temporary name and linked into place, which fails rather than replaces when another
// process got there first; that process's file is then the one everybody uses.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

export class DataDirError extends Error {}

/** Lines about fixed modes beyond this many are summed up in one. */
const REPORT_LIMIT = 20;

/**
 * Creates `dir` (0700) when missing, then tightens every directory under it to 0700 and
 * every file to 0600, calling `report` once per path it had to fix. Symbolic links are left
 * alone (their target is not ours to judge). Throws DataDirError naming the path it cannot fix.
 */
export function securePrivateDir(dir: string, report: (line: string) => void): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  let fixed = 0;
  // Another process (a second `bastion migrate`, SQLite closing its -shm/-wal) may delete a
  // path between the listing and the look: a path that is gone needs no fixing.
  const gone = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';
  const fix = (p: string, want: number, mode: number): void => {
    try {
      chmodSync(p, want);
    } catch (err) {
      if (gone(err)) return;
      throw new DataDirError(`${p} is mode ${octal(mode)} and cannot be made ${octal(want)} (${(err as NodeJS.ErrnoException).code ?? 'error'}); fix it or run bastion as its owner`);
    }
    fixed++;
    if (fixed <= REPORT_LIMIT) report(`${p} was mode ${octal(mode)}, readable by others: now ${octal(want)}`);
  };
  const walk = (p: string): void => {
    let st;
    try {
      st = lstatSync(p);
    } catch (err) {
      if (gone(err)) return;
      throw err;
    }
    if (st.isSymbolicLink()) return;
    const mode = st.mode & 0o777;
    if (st.isDirectory()) {
      if (mode & 0o077) fix(p, PRIVATE_DIR_MODE, mode);
      let names: string[];
      try {
        names = readdirSync(p);
      } catch (err) {
        if (gone(err)) return;
        throw err;
      }
      for (const name of names) walk(path.join(p, name));
    } else if (st.isFile() && mode & 0o077) {
      fix(p, PRIVATE_FILE_MODE, mode);
    }
  };
  walk(dir);
  if (fixed > REPORT_LIMIT) report(`${fixed - REPORT_LIMIT} more paths under ${dir} were readable by others: now private`);
}

/**
 * The content of `file`, created from `make()` (mode 0600) when missing. Safe against other
 * processes doing the same at the same moment: the content is written and synced under a
 * temporary name first, then link() puts it in place without replacing; whoever loses reads
 * the winner's file, which is complete by then.
 */
export function readOrCreateOnce(file: string, make: () => string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const content = make();
  const fd = openSync(tmp, 'wx', PRIVATE_FILE_MODE);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  return readFileSync(file, 'utf8');
}

/** Makes sure `file` exists with mode 0600 before some other library (SQLite) creates it with its own default mode. */
export function touchPrivate(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}
