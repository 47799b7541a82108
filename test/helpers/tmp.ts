import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dirs = new Set<string>();
/** Directories removed only when the process exits (makeTempDir's untilExit). */
const exitDirs = new Set<string>();

/**
 * Creates a fresh directory under os.tmpdir(); `cleanup()` removes it. With `untilExit` it is
 * removed only when the process exits: for a server in the test process that may still be
 * writing after it was told to stop (s3rver finishes a PUT whose client is gone, and an ENOENT
 * on a directory cleanup() had removed became an uncaught error that failed split.test.ts).
 */
export function makeTempDir(prefix = 'bastion-test-', { untilExit = false }: { untilExit?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  (untilExit ? exitDirs : dirs).add(dir);
  return dir;
}

/** Removes one directory made by makeTempDir (or any path) now. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/** Removes every directory made by makeTempDir; call it from `after()`. */
export async function cleanup(): Promise<void> {
  for (const dir of [...dirs]) removeTempDir(dir);
}

// Last resort if a test file forgets cleanup() or crashes.
process.on('exit', () => {
  for (const dir of [...dirs, ...exitDirs]) rmSync(dir, { recursive: true, force: true });
});
