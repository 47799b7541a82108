import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dirs = new Set<string>();

/** Creates a fresh directory under os.tmpdir(); `cleanup()` removes it. */
export function makeTempDir(prefix = 'bastion-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
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
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
