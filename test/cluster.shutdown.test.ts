// `bastion start` stopping with a gateway worker that cannot stop (frozen: SIGSTOP, as a worker
// stuck in a system call or swapped out would be): the primary kills it within its own deadline
// and exits cleanly, and no worker outlives it. Before, the primary waited for its workers
// without a bound, hit its deadline, exited 1 and left the frozen worker behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { freePort } from './helpers/ports.ts';
import { startProduct, type Product } from './helpers/product.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { within } from './helpers/within.ts';
import { WORKER_KILL_AFTER_MS, SHUTDOWN_DEADLINE_MS } from '../bin/shutdownDeadlines.ts';

let product: Product | undefined;
const pids: number[] = [];

after(async () => {
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  product?.child.kill('SIGKILL');
  await cleanup();
});

/** Whether `pid` is a process that still runs (a zombie waiting to be reaped counts as gone). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function childrenOf(pid: number): number[] {
  const tasks = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return tasks === '' ? [] : tasks.split(/\s+/).map(Number);
}

test('a frozen gateway worker is killed within the deadline: bastion start exits 0 and leaves no worker behind', async () => {
  const [httpPort, sshPort] = [await freePort(), await freePort()];
  product = await startProduct('start', {
    BASTION_DATA_DIR: makeTempDir('bastion-shutdown-'), BASTION_HTTP_PORT: String(httpPort), BASTION_SSH_PORT: String(sshPort),
    BASTION_GATEWAY_WORKERS: '2', BASTION_ADMIN_PASSWORD: 'Shutdown-admin-pass-1',
  }, { timeoutMs: 120_000 });
  const workers = childrenOf(product.child.pid!);
  assert.equal(workers.length, 2, `the primary's children: ${workers.join(', ')}`);
  pids.push(...workers);
  const [frozen, other] = workers as [number, number];
  process.kill(frozen, 'SIGSTOP');

  const startedAt = Date.now();
  // Not child.kill(): execa would follow it with a SIGKILL of its own after 5 s.
  process.kill(product.child.pid!, 'SIGTERM');
  // Its exit, not the end of its output: a worker left behind would hold the output pipe open.
  const [code] = await within(once(product.child, 'exit'), 20_000, () => `bastion start did not exit:\n${product!.output().slice(-2000)}`);
  const took = Date.now() - startedAt;
  const output = product.output();
  assert.equal(code, 0, output.slice(-2000));
  assert.ok(took < SHUTDOWN_DEADLINE_MS + 1000, `the stop took ${took} ms`);
  assert.match(output, new RegExp(`gateway worker ${frozen} did not exit within ${WORKER_KILL_AFTER_MS} ms of SIGTERM; killing it`));
  assert.doesNotMatch(output, new RegExp(`gateway worker ${other} did not`));
  assert.equal(alive(frozen), false, 'the frozen worker is gone');
  assert.equal(alive(other), false, 'the other worker is gone');
});
