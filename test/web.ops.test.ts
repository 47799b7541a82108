// Asset operations in the browser: connectivity test and its result in the asset table,
// facts gathered by the real ansible-playbook shown in the facts panel, a node test from
// the tree, and `uptime` on a whole node from the Jobs page with results per asset.
// Real Chromium, real sshd (root key as the admin user), real Ansible.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { startSshd, sshdUnavailable, type Sshd } from './helpers/sshd.ts';
import { clickUntil, logIn, openPage, pick, screenshot, type BrowserSession } from './helpers/browser.ts';
import { startWebWorld, type WebWorld } from './helpers/webWorld.ts';

const menuName = (text: string) => new RegExp(`^(\\S+ )?${text}$`);

describe('asset operations in the web app', { skip: sshdUnavailable() }, () => {
  let b: Bastion;
  let sshd: Sshd;
  let api: ApiClient;
  let w: WebWorld;
  let s: BrowserSession;
  let page: Page;
  const ids: Record<string, string> = {};

  before(async () => {
    sshd = await startSshd({ extraConfig: ['PermitRootLogin prohibit-password'] });
    w = await startWebWorld({
      login: { username: 'admin', password: ADMIN_PASSWORD },
      seed: async (bastion) => {
        b = bastion;
        api = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
        ids.rootAdmin = (await api.post('/admin-users', { name: 'root-key', username: 'root', privateKey: sshd.privateKey })).body.id;
        ids.node = (await api.post('/nodes', { name: 'ops' })).body.id;
        ids.asset = (await api.post('/assets', { name: 'loop', address: '127.0.0.1', port: sshd.port, adminUser: ids.rootAdmin, nodes: [ids.node] })).body.id;
        ids.su = (await api.post('/system-users', { name: 'test-account', username: sshd.username, password: sshd.password })).body.id;
      },
    });
    ({ s, page } = w);
  });

  after(async () => {
    await sshd?.stop();
    await w?.stop();
  });

  test('Test on the asset page stores the result, and the asset table shows it', async () => {
    await page.goto(`/assets/${ids.asset}`);
    await page.getByRole('button', { name: 'Test connectivity' }).click();
    await page.locator('.ant-message').getByText(/Reachable \(\d+ ms\)/).waitFor({ timeout: 20_000 });
    await page.getByRole('navigation', { name: 'main' }).getByRole('menuitem', { name: menuName('Assets') }).click();
    const row = page.locator('.ant-table-row').filter({ hasText: 'loop' });
    await row.getByTestId('last-test').filter({ hasText: 'Reachable' }).waitFor();
    await screenshot(page, '50-assets-last-test');
  });

  test('a node test from the tree runs as a job with a result per asset', async () => {
    await page.locator('[data-node-name="ops"]').click();
    await page.getByRole('button', { name: /^(\S+ )?Test$/ }).click();
    await page.locator('.ant-message').getByRole('link', { name: 'Open job' }).click();
    await page.getByRole('heading', { name: 'Job: Connectivity test' }).waitFor();
    await page.locator('.ant-descriptions [data-testid=job-status][data-status=succeeded]').waitFor({ timeout: 30_000 });
    await page.locator('.ant-table-row').filter({ hasText: 'loop' }).getByText('OK').waitFor();
  });

  test('Gather facts fills the facts panel with CPU, memory, disks and network cards', async () => {
    await page.goto(`/assets/${ids.asset}`);
    const panel = page.getByTestId('facts-panel');
    await panel.getByText('No facts gathered yet').waitFor();
    await page.getByRole('button', { name: 'Gather facts' }).click();
    let job: { status: string; log: string; results: unknown[] } | undefined;
    for (let i = 0; i < 240; i++) {
      job = (await api.get('/jobs?kind=facts')).body.items[0];
      if (job && !['queued', 'running'].includes(job.status)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(job?.status, 'succeeded', JSON.stringify(job) + '\n' + s.errors.join('\n'));
    await panel.getByText(/\d+ × /).waitFor({ timeout: 10_000 });
    const text = await panel.innerText();
    assert.match(text, /Memory\s+\d+(\.\d)? (MiB|GiB)/);
    assert.match(text, /Operating system\s+\S+/);
    assert.ok(await panel.locator('.ant-table').first().locator('.ant-table-row').count() >= 1, 'at least one disk');
    assert.ok(await panel.locator('.ant-table').nth(1).locator('.ant-table-row').count() >= 1, 'at least one network card');
    await screenshot(page, '51-asset-facts');
  });

  test('the Jobs page runs uptime on a node and shows the output per asset', async () => {
    await page.getByRole('navigation', { name: 'main' }).getByRole('menuitem', { name: menuName('Jobs') }).click();
    const runner = page.locator('.ant-card').filter({ hasText: 'Run a command' });
    await clickUntil(runner.getByRole('button', { name: 'Run' }), runner.getByText('Choose at least one asset or node').first());
    await pick(runner, 'Nodes', 'ops');
    await pick(runner, 'System user', `test-account (${sshd.username})`);
    await runner.getByLabel('Command').fill('uptime');
    await runner.getByRole('button', { name: 'Run' }).click();
    await page.getByRole('heading', { name: 'Job: Command' }).waitFor();
    await page.locator('.ant-descriptions [data-testid=job-status][data-status=succeeded]').waitFor({ timeout: 30_000 });
    const row = page.locator('.ant-table-row').filter({ hasText: 'loop' });
    await row.getByText('OK').waitFor();
    await page.getByText(/load average/).first().waitFor();
    await page.getByTestId('job-progress').getByText('1/1').waitFor();
    await screenshot(page, '52-job-uptime');
    const jobs = (await api.get('/jobs?kind=command')).body.items;
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0].results[0].exitCode, 0);
  });

  test('Push on a system user asks where, then opens the job', async () => {
    await page.getByRole('navigation', { name: 'main' }).getByRole('menuitem', { name: menuName('System users') }).click();
    await page.getByRole('button', { name: 'Push test-account' }).click();
    const dialog = page.getByRole('dialog');
    await clickUntil(dialog.getByRole('button', { name: 'Push' }), dialog.getByText('Choose at least one asset or node').first());
    await screenshot(page, '53-push-system-user');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.deepEqual(s.errors.filter((e) => !/Failed to load resource/.test(e)), []);
  });

  test('an operator runs a command from the Jobs page on a server granted to them, and sees only their own jobs', async () => {
    const op = (await api.post('/users', { username: 'olga', password: 'Night-shift-2024', role: 'user', mustChangePassword: false })).body;
    const elsewhere = (await api.post('/assets', { name: 'elsewhere', address: '127.0.0.1', port: sshd.port })).body.id;
    assert.equal((await api.post('/permissions', { name: 'olga-loop', users: [op.id], assets: [ids.asset], systemUsers: [ids.su], actions: ['connect'] })).status, 201);
    const mine = await openPage(w.browser, b.baseUrl);
    try {
      await logIn(mine.page, 'olga', 'Night-shift-2024');
      await mine.page.waitForURL(/\/my-assets/);
      const nav = mine.page.getByRole('navigation', { name: 'main' });
      await nav.getByRole('menuitem', { name: menuName('Jobs') }).click();
      const runner = mine.page.locator('.ant-card').filter({ hasText: 'Run a command' });
      await runner.getByText('Runs on the servers you may connect to').waitFor();
      // Only the granted asset is offered; no node picker.
      await runner.getByLabel('Assets', { exact: true }).click();
      const options = mine.page.locator('.ant-select-dropdown:visible .ant-select-item-option');
      await options.filter({ hasText: 'loop (127.0.0.1)' }).waitFor();
      // Both come from the same answer of /me/assets: once loop is listed, elsewhere would be too.
      assert.equal(await options.filter({ hasText: 'elsewhere' }).count(), 0);
      await mine.page.keyboard.press('Escape');
      await pick(runner, 'Assets', 'loop (127.0.0.1)');
      assert.equal(await runner.getByLabel('Nodes', { exact: true }).count(), 0);
      await pick(runner, 'System user', `test-account (${sshd.username})`);
      await runner.getByLabel('Command').fill('echo operator-$((6*7))');
      await runner.getByRole('button', { name: 'Run' }).click();
      await mine.page.getByRole('heading', { name: 'Job: Command' }).waitFor();
      await mine.page.locator('.ant-descriptions [data-testid=job-status][data-status=succeeded]').waitFor({ timeout: 30_000 });
      await mine.page.getByText('operator-42').first().waitFor();
      await screenshot(mine.page, '54-operator-job');

      // The list holds their job only, not the admin's; the API refuses an asset not granted.
      await nav.getByRole('menuitem', { name: menuName('Jobs') }).click();
      await mine.page.locator('.ant-table-row').first().waitFor();
      assert.equal(await mine.page.locator('.ant-table-row').count(), 1);
      const olga = await loggedIn(b.baseUrl, 'olga', 'Night-shift-2024');
      const theirs = (await olga.get('/jobs')).body.items as { createdBy: string | null }[];
      assert.deepEqual(theirs.map((j) => j.createdBy), [op.id]);
      const refused = await olga.post('/jobs', { kind: 'command', assets: [elsewhere], systemUser: ids.su, command: 'touch /tmp/should-not-exist', timeoutSeconds: 10 });
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.deepEqual(mine.errors.filter((e) => !/Failed to load resource/.test(e)), []);
    } finally {
      await mine.close();
    }
  });
});
