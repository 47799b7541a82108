// bin/memoryFlags.ts is the one source of the Node flags and environment every Bastion process
// runs with (issue 13: idle RSS, GC pauses). The built bin's shebang is made from it
// (scripts/build-server.mjs; build.test.ts checks the built file). Two places cannot import it
// and repeat it as text: package.json's scripts (npm runs them in sh) and the image's ENTRYPOINT
// and ENV. These tests read those copies and fail as soon as one differs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MEMORY_ENV, MEMORY_FLAGS } from '../bin/memoryFlags.ts';
import { PRODUCT_ROOT } from './helpers/productCommand.ts';

const read = (file: string): string => readFileSync(path.join(PRODUCT_ROOT, file), 'utf8');

/** `A=${A:-2} B=${B:-x} exec node --f1 --f2 dist/bin/bastion.js …` → its environment defaults and node flags. */
function scriptLaunch(script: string): { env: Record<string, string>; flags: string[] } {
  const m = /(?:^|&& )((?:\w+=\S+ )*)exec node ((?:--\S+ )*)dist\/bin\/bastion\.js\b/.exec(script);
  assert.ok(m, `no "exec node … dist/bin/bastion.js" in: ${script}`);
  const env: Record<string, string> = {};
  for (const assignment of m[1]!.trim().split(' ').filter(Boolean)) {
    const d = /^(\w+)=\$\{(\w+):-([^}]*)\}$/.exec(assignment);
    assert.ok(d && d[1] === d[2], `${assignment}: a default the environment can override, as \${NAME:-value}`);
    env[d[1]!] = d[3]!;
  }
  return { env, flags: m[2]!.trim().split(' ').filter(Boolean) };
}

test("package.json's start and bastion scripts run node with MEMORY_FLAGS, and MEMORY_ENV unless the environment sets it", () => {
  const { scripts } = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  for (const name of ['start', 'bastion']) {
    const launch = scriptLaunch(scripts[name] ?? '');
    assert.deepEqual(launch.flags, MEMORY_FLAGS, `npm run ${name}`);
    assert.deepEqual(launch.env, MEMORY_ENV, `npm run ${name}`);
  }
});

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
function dockerInstructions(text: string): string[] {
  return text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

test("the image's ENTRYPOINT runs node with MEMORY_FLAGS, and its final stage's ENV sets MEMORY_ENV", () => {
  const instructions = dockerInstructions(read('Dockerfile'));
  // The runtime image is the last stage: what comes after its FROM.
  const froms = instructions.flatMap((i, n) => (i.startsWith('FROM ') ? [n] : []));
  const runtime = instructions.slice(froms.at(-1));
  const entrypoints = runtime.filter((i) => i.startsWith('ENTRYPOINT '));
  assert.equal(entrypoints.length, 1);
  const argv = JSON.parse(entrypoints[0]!.slice('ENTRYPOINT '.length)) as string[];
  const node = argv.indexOf('node');
  const bin = argv.indexOf('/app/dist/bin/bastion.js');
  assert.ok(node >= 0 && bin > node, `ENTRYPOINT ${JSON.stringify(argv)}`);
  assert.deepEqual(argv.slice(node + 1, bin), MEMORY_FLAGS);
  const env: Record<string, string> = {};
  for (const i of runtime.filter((l) => l.startsWith('ENV '))) {
    for (const pair of i.slice('ENV '.length).trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  for (const [k, v] of Object.entries(MEMORY_ENV)) assert.equal(env[k], v, `ENV ${k}`);
});
