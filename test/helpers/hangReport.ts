// Loaded into each test file's process by scripts/test.sh (--import). The runner cancels a file
// that runs past --test-timeout with "test timed out", naming no test and saying nothing of what
// it waited on (ci32 and ci33 each lost a workers-topology file that way). Shortly before that,
// this prints on stderr (which the runner shows with the file's results) the tests then running,
// the sockets and child processes the process still holds, and its gateway workers.
import cluster from 'node:cluster';
import { afterEach, beforeEach } from 'node:test';

const REPORT_AFTER_MS = Number(process.env.BASTION_TEST_HANG_REPORT_MS ?? 280_000);

interface HandleLike {
  constructor: { name: string };
  localPort?: number;
  remotePort?: number;
  spawnargs?: string[];
  pid?: number;
}

function describeHandle(h: HandleLike): string {
  if (h.spawnargs) return `child ${h.pid ?? '?'}: ${h.spawnargs.join(' ').slice(0, 200)}`;
  if (h.remotePort) return `socket ${h.localPort ?? '?'} -> ${h.remotePort}`;
  if (h.localPort) return `listener ${h.localPort}`;
  return h.constructor.name;
}

// Only in a file's own process (NODE_TEST_CONTEXT is set for it, and inherited by anything it
// spawns, which must not grow a test harness of its own).
if (process.env.NODE_TEST_CONTEXT && /\.test\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) {
  const running = new Set<string>();
  let lastBegun = '';
  beforeEach((t) => {
    running.add(t.name);
    lastBegun = t.name;
  });
  afterEach((t) => { running.delete(t.name); });
  /** Which tests run, and what the process holds (unref'd handles too), as report lines. */
  const snapshot = (title: string): string => {
    const handles = (process as unknown as { _getActiveHandles(): HandleLike[] })._getActiveHandles();
    const counts = new Map<string, number>();
    for (const d of handles.map(describeHandle)) counts.set(d, (counts.get(d) ?? 0) + 1);
    const workers = Object.values(cluster.workers ?? {}).map((w) => `${w?.process.pid ?? '?'}${w?.isConnected() ? '' : ' (disconnected)'}`);
    return [
      `# ${title} ${process.argv[1]}:`,
      `#   running: ${running.size ? [...running].join(' | ') : 'no test (a before/after hook, or between tests)'}`,
      `#   last test begun: ${lastBegun || 'none yet'}`,
      `#   gateway workers: ${workers.length ? workers.join(', ') : 'none'}`,
      ...[...counts].map(([d, n]) => `#   ${d}${n > 1 ? ` ×${n}` : ''}`),
    ].join('\n') + '\n';
  };
  setTimeout(() => process.stderr.write(snapshot(`hang report, ${REPORT_AFTER_MS / 1000} s into`)), REPORT_AFTER_MS).unref();
  // The runner cancels what is still pending when the event loop empties ("Promise resolution is
  // still pending but the event loop has already resolved": jobs.kill in ci54, once in ~20 runs),
  // which means something was awaited that nothing keeps alive, such as an unref'd timer or child.
  // What the process held then is said, once the file has failed (also when the loop emptied only
  // at the file's end: a few lines more for a file that failed anyway).
  let emptied = '';
  process.on('beforeExit', () => { emptied ||= snapshot(`the event loop emptied (${new Date().toISOString()}) in`); });
  process.on('exit', (code) => { if (code !== 0 && emptied) process.stderr.write(emptied); });
}
