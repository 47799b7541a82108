// Compiles the server side (bin/, core/, gateway/, server/, migrations/) from TypeScript to
// JavaScript in dist/, one file per file in the same layout, so that every Bastion process
// (`npm start`, its gateway workers, the segment builder, `bastion gateway|server|migrate`,
// the container image) runs plain JavaScript: tsx's loader costs each process ~55 MB (its
// hooks run in a thread of their own) plus its source maps, and compiles on every start.
//
//   node scripts/build-server.mjs              build now
//   node scripts/build-server.mjs --if-stale   only when dist/ is missing or older than a source
//   --outdir DIR                               somewhere else than dist/
//   --sourcemap                                write .js.map files (use with node --enable-source-maps)
//
// esbuild, as tsx does (the same transform runs as before); nothing is bundled: relative
// imports stay imports, with their .ts extension made .js, and packages are loaded from
// node_modules. Files that are not TypeScript (playbooks, the healthcheck) are copied beside
// their neighbours, so paths relative to import.meta.url hold in dist/ too.
// Plain JavaScript: it runs before anything can load TypeScript.
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE_DIRS = ['bin', 'core', 'gateway', 'server', 'migrations'];
/** Besides the sources, what changes the output. */
const BUILD_INPUTS = ['tsconfig.json', 'scripts/build-server.mjs'];
/** Written last, dated when the build started: a source changed during a build is newer than it. */
const STAMP = '.built';

/** Every file under the source dirs, and the newest mtime of them and their directories (a deleted file changes its directory's). */
function scan(root) {
  const files = [];
  let newest = 0;
  const walk = (rel) => {
    const full = path.join(root, rel);
    newest = Math.max(newest, statSync(full).mtimeMs);
    for (const entry of readdirSync(full, { withFileTypes: true })) {
      const child = path.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) {
        files.push(child);
        newest = Math.max(newest, statSync(path.join(root, child)).mtimeMs);
      }
    }
  };
  for (const dir of SOURCE_DIRS) if (existsSync(path.join(root, dir))) walk(dir);
  for (const input of BUILD_INPUTS) if (existsSync(path.join(root, input))) newest = Math.max(newest, statSync(path.join(root, input)).mtimeMs);
  return { files, newest };
}

/** Whether `outdir` is missing, unfinished, or older than any source. */
export function isStale({ root = ROOT, outdir = path.join(root, 'dist') } = {}) {
  const stamp = path.join(outdir, STAMP);
  if (!existsSync(stamp)) return true;
  return statSync(stamp).mtimeMs < scan(root).newest;
}

const isTypeScript = (file) => file.endsWith('.ts') && !file.endsWith('.d.ts');

/** esbuild leaves every import as it is, except that a relative `./x.ts` becomes `./x.js`. */
const importsAsIs = {
  name: 'imports-as-is',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, (args) => (args.kind === 'entry-point' ? undefined : { path: args.path.replace(/\.ts$/, '.js'), external: true }));
  },
};

/** `#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 …`: MEMORY_ENV and MEMORY_FLAGS of the built memoryFlags.js. */
async function binShebang(memoryFlagsJs) {
  const { MEMORY_ENV, MEMORY_FLAGS } = await import(pathToFileURL(memoryFlagsJs).href);
  return `#!/usr/bin/env -S ${[...Object.entries(MEMORY_ENV).map(([k, v]) => `${k}=${v}`), 'node', ...MEMORY_FLAGS].join(' ')}`;
}

/**
 * Builds into a fresh directory beside `outdir` and swaps it in, so a process starting
 * meanwhile sees the old build or the new one, never half of one; two builds at once
 * leave one of them.
 */
export async function buildServer({ root = ROOT, outdir = path.join(root, 'dist'), sourcemap = false } = {}) {
  const { build } = await import('esbuild');
  const started = Date.now();
  const { files } = scan(root);
  const tmp = `${outdir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints: files.filter(isTypeScript),
    outdir: tmp,
    outbase: '.',
    bundle: true,
    packages: 'external',
    plugins: [importsAsIs],
    format: 'esm',
    platform: 'node',
    target: 'node20',
    tsconfig: path.join(root, 'tsconfig.json'),
    sourcemap: sourcemap ? 'linked' : false,
    logLevel: 'warning',
  });
  for (const file of files.filter((f) => !f.endsWith('.ts'))) {
    mkdirSync(path.dirname(path.join(tmp, file)), { recursive: true });
    cpSync(path.join(root, file), path.join(tmp, file), { preserveTimestamps: true });
  }
  // The built bin is the `bastion` command (package.json's bin, the image's /usr/local/bin/bastion),
  // with the memory flags and environment of every Bastion process, read from the module just
  // built from bin/memoryFlags.ts (their one source). The source has no shebang: tsx's import
  // scanner reads `#!… --import tsx` as code.
  const bin = path.join(tmp, 'bin', 'bastion.js');
  if (existsSync(bin)) {
    writeFileSync(bin, `${await binShebang(path.join(tmp, 'bin', 'memoryFlags.js'))}\n${readFileSync(bin, 'utf8')}`);
    chmodSync(bin, 0o755);
  }
  writeFileSync(path.join(tmp, STAMP), `built from ${SOURCE_DIRS.join(', ')} by scripts/build-server.mjs\n`);
  utimesSync(path.join(tmp, STAMP), new Date(started), new Date(started));
  const old = `${outdir}.old-${process.pid}`;
  try {
    renameSync(outdir, old);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  try {
    renameSync(tmp, outdir);
  } catch (err) {
    // Another build put its output there first: that one stays.
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    rmSync(tmp, { recursive: true, force: true });
  }
  rmSync(old, { recursive: true, force: true });
  return { files: files.length, ms: Date.now() - started };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--outdir');
  const outdir = outIndex >= 0 ? path.resolve(args[outIndex + 1] ?? '') : path.join(ROOT, 'dist');
  if (!args.includes('--if-stale') || isStale({ outdir })) {
    process.stdout.write(`building the server into ${path.relative(process.cwd(), outdir) || '.'}/ … `);
    try {
      const { ms } = await buildServer({ outdir, sourcemap: args.includes('--sourcemap') });
      process.stdout.write(`done in ${(ms / 1000).toFixed(1)} s\n`);
    } catch (err) {
      process.stdout.write('failed\n');
      // esbuild has printed what is wrong with which file.
      if (!err?.errors) console.error(err);
      process.exit(1);
    }
  }
}
