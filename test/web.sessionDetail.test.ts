// The session detail page, the sessions list's transfer rows, date presets, the CSV download and
// the dashboard's links, in Chromium (issue 15 item 5). One browser and one world for the file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import type { Session } from '../core/db/entities/index.ts';
import { clickUntil, screenshot, type BrowserSession } from './helpers/browser.ts';
import { startWebWorld, type WebWorld } from './helpers/webWorld.ts';

let w: WebWorld;
let page: Page;
let s: BrowserSession;
let shell: Session;
let sftp: Session;
/** A shell with an sftp and a legacy-scp session folded under it. */
let appShell: Session;
let appSftp: Session;
let appScp: Session;

before(async () => {
  w = await startWebWorld({
    login: { username: 'audrey', password: 'Watch-tower-42' },
    seed: async (b, f) => {
      await f.user({ username: 'audrey', password: 'Watch-tower-42', role: 'auditor' });
      const oscar = await f.user({ username: 'oscar', password: 'Blue-whale-1234' });
      const web = await f.asset({ name: 'web07', address: '127.0.0.7' });
      const db = await f.asset({ name: 'db07', address: '127.0.0.8' });
      shell = await f.session({ user: oscar, asset: web, kind: 'shell', commands: [{ input: 'uptime', output: 'up 3 days', offsetMs: 1500 }], end: { status: 'closed', bytesIn: 6, bytesOut: 40, exitStatus: 0 } });
      sftp = await f.session({ user: oscar, asset: db, kind: 'sftp', transfers: [{ operation: 'upload', path: '/tmp/report.txt', size: 2048, ok: true }], end: { status: 'closed', bytesIn: 2048, bytesOut: 0 } });
      const app = await f.asset({ name: 'app07', address: '127.0.0.9' });
      const su = await f.systemUser({ name: 'app', username: 'app' });
      const onApp = { user: oscar, asset: app, systemUser: su };
      appShell = await f.session({ ...onApp, kind: 'shell' });
      appSftp = await f.session({ ...onApp, kind: 'sftp', transfers: [{ operation: 'download', path: '/var/log/app.log', size: 4096, ok: true }], end: { status: 'closed', bytesIn: 0, bytesOut: 4096 } });
      appScp = await f.session({ ...onApp, kind: 'exec', transfers: [{ operation: 'upload', path: '/srv/app/release.tar', size: 8192, ok: true }], end: { status: 'closed', bytesIn: 8192, bytesOut: 0, exitStatus: 0 } });
      await b.services.sessions.end(appShell.id, { status: 'closed', bytesIn: 10, bytesOut: 10, exitStatus: 0 });
    },
  });
  ({ page, s } = w);
});

after(async () => {
  await w?.stop();
});

test('a transfer-only session has no Commands or Playback button: its transfer count opens its detail page', async () => {
  await page.goto('/sessions?tab=history');
  const row = page.locator('.ant-table-row').filter({ hasText: 'db07' });
  await row.waitFor();
  assert.equal(await row.getByRole('button', { name: 'Commands' }).count(), 0);
  assert.equal(await row.getByRole('button', { name: /Play/ }).count(), 0);
  await row.getByText('1 transfer').click();
  await page.waitForURL(new RegExp(`/sessions/${sftp.id}$`));
  const transfers = page.getByRole('table').filter({ hasText: '/tmp/report.txt' });
  await transfers.waitFor();
  assert.equal(await page.getByText('Commands', { exact: true }).count(), 0, 'no commands card for a transfer session');
  await page.getByTestId('session-facts').getByText('db07').waitFor();
  await screenshot(page, '60-session-detail-sftp');
});

test('the transfers of a shell are folded under it in the list and listed on its detail page, each linked to its own session', async () => {
  await page.goto('/sessions?tab=history');
  const shellRow = page.locator('.ant-table-row').filter({ hasText: 'app07' }).filter({ hasText: '2 transfer sessions' });
  await shellRow.waitFor();
  // Folded: one row for app07 until it is expanded.
  assert.equal(await page.locator('.ant-table-row').filter({ hasText: 'app07' }).count(), 1);
  await shellRow.getByRole('button', { name: /expand/i }).click();
  const sftpRow = page.locator('.ant-table-row').filter({ hasText: 'app07' }).filter({ hasText: '1 transfer' }).filter({ hasText: 'SFTP' });
  await sftpRow.waitFor();
  assert.equal(await page.locator('.ant-table-row').filter({ hasText: 'app07' }).count(), 3);
  for (const child of await page.locator('.ant-table-row').filter({ hasText: 'app07' }).filter({ hasNotText: 'transfer sessions' }).all()) {
    assert.equal(await child.getByRole('button', { name: 'Commands' }).count(), 0, 'a transfer session has no commands');
    assert.equal(await child.getByRole('button', { name: /Play/ }).count(), 0, 'nor anything to play');
  }
  assert.equal(await shellRow.getByRole('button', { name: 'Commands' }).count(), 1);
  await screenshot(page, '62-sessions-folded');
  await shellRow.getByRole('link', { name: /Details/ }).click();
  await page.waitForURL(new RegExp(`/sessions/${appShell.id}$`));
  const transfers = page.getByRole('table', { name: 'File transfers' });
  await transfers.getByText('/var/log/app.log').waitFor();
  await transfers.getByText('/srv/app/release.tar').waitFor();
  await screenshot(page, '63-session-detail-folded');
  await transfers.getByRole('row').filter({ hasText: '/srv/app/release.tar' }).getByRole('link').click();
  await page.waitForURL(new RegExp(`/sessions/${appScp.id}$`));
  await page.getByTestId('folded-into').getByRole('link', { name: 'Open the shell session' }).click();
  await page.waitForURL(new RegExp(`/sessions/${appShell.id}$`));
});

test('the detail page of a shell session shows its facts and commands, each linked into the playback', async () => {
  await page.goto('/sessions?tab=history');
  await page.locator('.ant-table-row').filter({ hasText: 'web07' }).getByRole('link', { name: /Details/ }).click();
  await page.waitForURL(new RegExp(`/sessions/${shell.id}$`));
  await page.getByRole('heading', { name: 'Session: oscar on web07' }).waitFor();
  await page.getByTestId('session-facts').getByText('Closed').waitFor();
  await page.getByText('uptime', { exact: true }).waitFor();
  await page.getByText('This session has no recording.').waitFor();
  await screenshot(page, '61-session-detail-shell');
});

test('the command log: the 24 h preset keeps today\'s command, the CSV download holds it', async () => {
  await page.goto('/commands');
  await page.getByText('uptime', { exact: true }).waitFor();
  await page.getByLabel('Date range').first().click();
  // The link changes once the preset is applied: until then the click is given again.
  await clickUntil(page.getByText('Last 24 hours'), page.locator('[data-testid=csv-export][href*="from="]'));
  await page.getByText('uptime', { exact: true }).waitFor();
  const href = await page.getByTestId('csv-export').getAttribute('href');
  assert.match(href ?? '', /^\/api\/v1\/commands\?from=.+&to=.+&format=csv$/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('csv-export').click()]);
  assert.equal(download.suggestedFilename(), 'commands.csv');
  const csv = await readFile((await download.path())!, 'utf8');
  const rows = csv.trimEnd().split('\r\n');
  assert.equal(rows.length, 2);
  assert.match(rows[1]!, new RegExp(`,oscar,web07,deploy,uptime,normal,false,${shell.id},1500$`));
});

test('the dashboard\'s cards open the lists they count', async () => {
  await page.goto('/dashboard');
  await page.getByTestId('dashboard-failed').click();
  await page.waitForURL(/\/audit\/logins\?ok=false&from=/);
  await page.locator('.ant-select').filter({ hasText: 'Failure' }).waitFor();
  await page.goto('/dashboard');
  await page.getByRole('link', { name: 'db07' }).click();
  await page.waitForURL(/\/sessions\?tab=history&asset=db07/);
  await page.locator('.ant-table-row').filter({ hasText: 'db07' }).waitFor();
  assert.equal(await page.locator('.ant-table-row').filter({ hasText: 'web07' }).count(), 0);
  assert.deepEqual(s.errors, []);
});
