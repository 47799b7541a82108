// How tests and benches run the product the way users do: `node <memory flags>
// dist/bin/bastion.js <command>`, the compiled build (scripts/build-server.mjs), as `npm start`
// and the container image run it. scripts/test.sh builds it before the suites; a file run on its
// own (or a bench) builds it here if it is missing or older than a source.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MEMORY_FLAGS } from '../../bin/memoryFlags.ts';

export const PRODUCT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The compiled bin, as `npm start` runs it. */
export const PRODUCT_ENTRY = path.join(PRODUCT_ROOT, 'dist', 'bin', 'bastion.js');

let built = false;

/** Builds dist/ when stale, once per process (a no-op check after that). */
export function ensureProductBuilt(): void {
  if (built) return;
  execFileSync(process.execPath, [path.join(PRODUCT_ROOT, 'scripts', 'build-server.mjs'), '--if-stale'], { cwd: PRODUCT_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  built = true;
}

/** Node's arguments for `bastion <command> [...args]` from the compiled build. */
export function productArgs(command: string, ...args: string[]): string[] {
  ensureProductBuilt();
  return [...MEMORY_FLAGS, PRODUCT_ENTRY, command, ...args];
}
