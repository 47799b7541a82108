import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { ApiClient } from './helpers/api.ts';
import { screenshot, type BrowserSession } from './helpers/browser.ts';
import { startWebWorld, type WebWorld } from './helpers/webWorld.ts';

/** A menu entry's accessible name: its icon's label, then the text. */
const menuName = (text: string) => new RegExp(`^(\\S+ )?${text}$`);

let w: WebWorld;
let s: BrowserSession;
let page: Page;

before(async () => {
  w = await startWebWorld({
    seed: async (b, f) => {
      await f.user({ username: 'audrey', password: 'Watch-tower-42', role: 'auditor' });
      const oscar = await f.user({ username: 'oscar', password: 'Blue-whale-1234' });
      const web = await f.asset({ name: 'web07', address: '10.0.0.7' });
      const db = await f.asset({ name: 'db07', address: '10.0.0.8' });
      // Two sessions as the gateway records them: one still open with a command, one ended.
      await f.session({ user: oscar, asset: web, kind: 'shell', clientAddress: '192.0.2.10', commands: [{ input: 'sudo systemctl restart nginx', offsetMs: 1200 }] });
      const past = await f.session({ user: oscar, asset: db, kind: 'exec', systemUsername: 'postgres', clientAddress: '192.0.2.11', end: { status: 'closed', bytesIn: 10, bytesOut: 2048, exitStatus: 0 } });
      // Its recording failed on the way: the list says so.
      await b.services.sessions.markRecordingIncomplete(past.id);
      await new ApiClient(b.baseUrl).login('audrey', 'wrong-password-here');
    },
  });
  ({ s, page } = w);
});

after(async () => {
  await w?.stop();
});

test('an auditor sees the dashboard and the audit pages, and nothing to manage', async () => {
  await page.goto('/login');
  await page.getByLabel('Username').fill('audrey');
  await page.getByLabel('Password').fill('Watch-tower-42');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/dashboard/);
  const nav = page.getByRole('navigation', { name: 'main' });
  for (const shown of ['Dashboard', 'Sessions', 'Login log', 'Operation log', 'My profile']) await nav.getByRole('menuitem', { name: menuName(shown) }).waitFor();
  for (const hidden of ['Users', 'Assets', 'Permissions', 'System users']) {
    assert.equal(await nav.getByRole('menuitem', { name: menuName(hidden) }).count(), 0, `${hidden} is not in an auditor's menu`);
  }
  await page.getByRole('img', { name: 'Logins and sessions, last 7 days' }).locator('svg').first().waitFor();
  const online = page.locator('.ant-card').filter({ hasText: 'Online sessions' }).locator('.ant-statistic-content-value');
  assert.equal((await online.innerText()).trim(), '1');
  await page.locator('.ant-card').filter({ hasText: 'Recent failed logins' }).getByText('audrey').waitFor();
  await screenshot(page, '30-dashboard');
});

test('sessions: the online one with its commands, and the history filtered by asset', async () => {
  await page.getByRole('navigation', { name: 'main' }).getByRole('menuitem', { name: menuName('Sessions') }).click();
  await page.getByRole('heading', { name: 'Sessions' }).waitFor();
  const liveRow = page.locator('.ant-table-row').filter({ hasText: 'web07' });
  await liveRow.waitFor();
  assert.equal(await page.locator('.ant-table-row').filter({ hasText: 'db07' }).count(), 0, 'ended sessions are not online');
  await screenshot(page, '31-sessions-online');
  await liveRow.getByRole('button', { name: 'Commands' }).click();
  await page.locator('.ant-drawer:visible').getByText('sudo systemctl restart nginx').waitFor();
  await screenshot(page, '32-session-commands');
  await page.locator('.ant-drawer:visible').getByRole('button', { name: 'Close' }).click();

  await page.getByRole('tab', { name: 'History' }).click();
  const panel = page.getByRole('tabpanel', { name: 'History' });
  await panel.locator('.ant-table-row').filter({ hasText: 'db07' }).waitFor();
  await panel.getByRole('searchbox', { name: 'Asset' }).fill('db07');
  await panel.getByRole('searchbox', { name: 'Asset' }).press('Enter');
  await panel.locator('.ant-table-row').filter({ hasText: 'web07' }).waitFor({ state: 'detached' });
  assert.equal(await panel.locator('.ant-table-row').count(), 1);
  await panel.locator('.ant-table-row').filter({ hasText: 'db07' }).getByText('Recording incomplete').waitFor();
  await screenshot(page, '33-sessions-history');
  assert.deepEqual(s.errors.filter((e) => !/Failed to load resource/.test(e)), []);
});
