// Jobs at scale in Chromium (issue 15 item 4): the summary and split bar of a partial job, the
// "failed only" filter, "retry failed" opening the new job on the failed asset only, and a saved
// command run from the jobs page. One browser and one world for the file; every asset is on
// loopback (the failing one on a closed port).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { freePort } from './helpers/ports.ts';
import { screenshot, type BrowserSession } from './helpers/browser.ts';
import { startWebWorld, type WebWorld } from './helpers/webWorld.ts';

let b: Bastion;
let w: WebWorld;
let s: BrowserSession;
let page: Page;
let partialJob = '';
const ids: Record<string, string> = {};

before(async () => {
  w = await startWebWorld({
    login: { username: 'admin', password: ADMIN_PASSWORD },
    seed: async (bastion, f) => {
      b = bastion;
      const closed = await freePort();
      for (const n of ['alpha', 'beta', 'gamma']) ids[n] = (await f.asset({ name: n, address: '127.0.0.1', port: closed })).id;
      ids.su = (await f.systemUser({ name: 'app', username: 'app', password: 'App-secret-1' })).id;
      // A command that worked on alpha and beta and failed on gamma, as the runner leaves it.
      const job = await b.services.jobs.start(SYSTEM_ACTOR, 'command', { command: 'deploy.sh', systemUser: ids.su, assets: [ids.alpha, ids.beta, ids.gamma] },
        ['alpha', 'beta', 'gamma'].map((n) => ({ id: ids[n]!, name: n })),
        async (t) => (t.name === 'gamma' ? { ok: false, exitCode: 2, output: 'deploy failed: disk full' } : { ok: true, exitCode: 0, output: `deployed on ${t.name}` }), 'deploy.sh');
      partialJob = (await b.services.jobs.settled(job.id)).id;
      await b.services.savedCommands.create(SYSTEM_ACTOR, { name: 'disk usage', command: 'df -h', systemUser: ids.su, assets: [ids.gamma!] });
    },
  });
  ({ s, page } = w);
});

after(async () => {
  await w?.stop();
});

test('a partial job: its summary, a split bar, every output in view, and "failed only"', async () => {
  await page.goto(`/jobs/${partialJob}`);
  await page.locator('.ant-descriptions [data-testid=job-status][data-status=partial]').waitFor();
  const summary = page.getByTestId('job-summary');
  assert.equal(await summary.locator('[data-outcome=ok]').getAttribute('data-count'), '2');
  assert.equal(await summary.locator('[data-outcome=failed]').getAttribute('data-count'), '1');
  assert.equal(await summary.locator('[data-outcome=timedOut]').getAttribute('data-count'), '0');
  const bar = page.getByTestId('job-progress').first();
  assert.deepEqual([await bar.getAttribute('data-ok'), await bar.getAttribute('data-failed')], ['2', '1']);
  // Successful hosts' output is shown, not collapsed away.
  const results = page.getByRole('table', { name: 'Results per asset' });
  await results.getByText('deployed on alpha').waitFor();
  await results.getByText('deploy failed: disk full').waitFor();
  await screenshot(page, '62-job-partial');
  await page.getByText('Failed only').click();
  await results.locator('.ant-table-row').filter({ hasText: 'gamma' }).waitFor();
  assert.equal(await results.locator('.ant-table-row').count(), 1);
  await page.getByText('Succeeded only').click();
  await results.locator('.ant-table-row').filter({ hasText: 'alpha' }).waitFor();
  assert.equal(await results.locator('.ant-table-row').count(), 2);
});

test('"retry failed" opens a new job that runs on the failed asset only', async () => {
  await page.goto(`/jobs/${partialJob}`);
  await page.getByRole('button', { name: /Retry failed \(1\)/ }).click();
  await page.waitForURL((u) => /^\/jobs\/[0-9a-f-]{36}$/.test(u.pathname) && !u.pathname.endsWith(partialJob));
  const results = page.getByRole('table', { name: 'Results per asset' });
  await results.locator('.ant-table-row').filter({ hasText: 'gamma' }).waitFor();
  // The closed port fails again, promptly; only gamma was tried.
  await page.locator('.ant-descriptions [data-testid=job-status][data-status=failed]').waitFor({ timeout: 30_000 });
  assert.equal(await results.locator('.ant-table-row').count(), 1);
  const retried = new URL(page.url()).pathname.split('/').pop()!;
  const row = await b.services.jobs.get(retried);
  assert.equal(row.params.retryOf, partialJob);
  assert.deepEqual(row.params.assets, [ids.gamma]);
});

test('a saved command runs from the jobs page on its default targets', async () => {
  await page.goto('/jobs');
  const saved = page.getByTestId('saved-commands');
  await saved.getByText('df -h').waitFor();
  await saved.getByRole('button', { name: 'Run disk usage' }).click();
  await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
  await page.getByRole('table', { name: 'Results per asset' }).locator('.ant-table-row').filter({ hasText: 'gamma' }).waitFor({ timeout: 30_000 });
  await page.getByText('df -h', { exact: true }).waitFor();
  assert.deepEqual(s.errors, []);
});
