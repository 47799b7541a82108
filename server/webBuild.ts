import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT as ROOT } from './packageRoot.ts';

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

/**
 * Builds the web app when its build is missing or older than its sources, so `npm start` just works.
 * Vite runs in a child process: a build takes some 600 MB that a Node process never gives back,
 * and the process that asks is the long-lived server (issue 13: the gateway's idle footprint).
 */
export async function ensureWebBuild(say: (line: string) => void): Promise<void> {
  if (!existsSync(path.join(WEB, 'index.html'))) return;
  const index = path.join(WEB, 'dist', 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestMtime(WEB)) return;
  say('building the web app…');
  // Vite's own API in this Node binary, so no PATH lookup of a binary is involved.
  const script = `const { build } = await import('vite'); await build({ configFile: ${JSON.stringify(path.join(WEB, 'vite.config.ts'))}, logLevel: 'warn' });`;
  // execa loads only for a build: a server whose web app is built never needs it (issue 13: idle RSS).
  const { execa } = await import('execa');
  await execa(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
}
