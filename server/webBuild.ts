import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WEB = path.join(ROOT, 'web');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** Builds the web app when its build is missing or older than its sources, so `npm start` just works. */
export async function ensureWebBuild(say: (line: string) => void): Promise<void> {
  if (!existsSync(path.join(WEB, 'index.html'))) return;
  const index = path.join(WEB, 'dist', 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestMtime(WEB)) return;
  say('building the web app…');
  // Vite's own API, so no PATH lookup of a binary is involved.
  const vite = await import('vite');
  await vite.build({ configFile: path.join(WEB, 'vite.config.ts'), logLevel: 'warn' });
}
