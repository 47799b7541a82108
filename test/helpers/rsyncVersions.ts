// The rsync versions the client suites run, as the operator's client and as the asset's rsync:
// the system's own, and rsync 3.2 (Debian bookworm's 3.2.7, what issue 13 was reported with),
// which differs from newer ones in what its client sends (`\`-escaped args, no --old-args
// default) and in what its server accepts. The 3.2 binary is not installed: its bookworm .deb is
// fetched with `apt-get download` (which installs nothing) and unpacked with `dpkg-deb -x` into
// a cache under the system's temp dir, shared by test runs and readable by the asset's account.
// When it cannot be had the suite fails with the reason (a skip would test nothing, and CI's
// skip guard counts it as a failure anyway).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RsyncVersion {
  /** As the test names it: `system` or `3.2`. */
  label: string;
  /** The program to run: `rsync` (found on PATH) or an absolute path to a file named `rsync`. */
  bin: string;
}

export const SYSTEM_RSYNC: RsyncVersion = { label: 'system', bin: 'rsync' };

/** The newest 3.2.x version apt knows (`apt-cache madison rsync`), or null. */
function aptRsync32(): string | null {
  const madison = execFileSync('apt-cache', ['madison', 'rsync'], { encoding: 'utf8' });
  const versions = [...madison.matchAll(/^\s*rsync \| (3\.2\.\S+) \|/gm)].map((m) => m[1]!);
  return versions[0] ?? null;
}

/** `rsync --version`'s first line's version, e.g. `3.2.7`. */
export function rsyncVersionOf(bin: string): string {
  const out = execFileSync(bin, ['--version'], { encoding: 'utf8' });
  return /^rsync\s+version\s+(\S+)/.exec(out)?.[1] ?? 'unknown';
}

/** Downloads and unpacks rsync=`version` into `cache` (renamed into place whole). */
function fetchInto(version: string, cache: string): void {
  // Unpacked beside the cache and renamed into place: test runs in parallel never see half a tree.
  const work = mkdtempSync(join(tmpdir(), 'bastion-rsync-fetch-'));
  try {
    execFileSync('apt-get', ['download', `rsync=${version}`], { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download wrote no .deb');
    const tree = join(work, 'tree');
    execFileSync('dpkg-deb', ['-x', join(work, deb), tree]);
    // The asset's account runs it too (--rsync-path).
    chmodSync(tree, 0o755);
    try {
      renameSync(tree, cache);
    } catch (e) {
      if (!existsSync(join(cache, 'usr', 'bin', 'rsync'))) throw e;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const reasonOf = (e: unknown): string => (e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message;

/**
 * rsync 3.2 as a binary path (`…/usr/bin/rsync`), fetched once. Throws, saying why and what to
 * do, when apt has no 3.2 or the download fails (no network, stale apt lists: as root the lists
 * are refreshed once with apt-get update and the download tried again).
 */
export function rsync32(): RsyncVersion {
  const cacheOf = (version: string) => join(tmpdir(), `bastion-rsync-${version.replace(/[^0-9A-Za-z.+~-]/g, '_')}`);
  let version: string | null;
  try {
    version = aptRsync32();
  } catch (e) {
    throw new Error(`rsync 3.2 for the client tests: apt-cache is not usable here (${reasonOf(e)})`);
  }
  if (version === null || !existsSync(join(cacheOf(version), 'usr', 'bin', 'rsync'))) {
    try {
      if (version === null) throw new Error('apt knows no rsync 3.2.x (`apt-cache madison rsync`)');
      fetchInto(version, cacheOf(version));
    } catch (first) {
      if (process.getuid?.() !== 0) throw new Error(`rsync 3.2 for the client tests: ${reasonOf(first)}; as root, run apt-get update (Debian bookworm must be in the apt sources)`);
      try {
        // A fresh machine may have no apt lists yet (ensure-system-deps only updates them when it installs something).
        execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 300_000 });
        version = aptRsync32();
        if (version === null) throw new Error('apt knows no rsync 3.2.x even after apt-get update: add Debian bookworm to the apt sources');
        fetchInto(version, cacheOf(version));
      } catch (e) {
        throw new Error(`rsync 3.2 for the client tests: could not fetch it with apt-get download (${reasonOf(first)}; after apt-get update: ${reasonOf(e)})`);
      }
    }
  }
  const bin = join(cacheOf(version), 'usr', 'bin', 'rsync');
  // Its libraries (popt, xxhash, zstd, lz4, acl, crypto) are bookworm's own: it must run here.
  let got: string;
  try {
    got = rsyncVersionOf(bin);
  } catch (e) {
    throw new Error(`rsync 3.2 for the client tests: ${bin} does not run here (${reasonOf(e)})`);
  }
  if (!got.startsWith('3.2.')) throw new Error(`rsync 3.2 for the client tests: ${bin} says version ${got}`);
  return { label: '3.2', bin };
}
