// My assets and the web file manager in real Chromium, against a real sshd through the gateway's
// SFTP pipeline: rows per (asset, system user) with Connect / Files and the commands to copy,
// favourites that persist, the node tree and label filter when there are many rows; uploads
// (file picker and drag and drop, several at once, with progress) and downloads byte-exact,
// mkdir / rename / delete, a refused upload that says why and is a FileTransfer row.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Browser, Page } from 'playwright-core';
import { ensureWebBuild } from '../server/webBuild.ts';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { FileTransferEntity, type FileTransfer } from '../core/db/entities/index.ts';
import { startBastion, type Bastion } from './helpers/bastion.ts';
import { factories } from './helpers/factories.ts';
import { clickUntilGone, confirmWith, launchBrowser, logIn, openPage, pick, screenshot, type BrowserSession } from './helpers/browser.ts';
import { startSshd, sshdUnavailable, type Sshd } from './helpers/sshd.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';

const skip = sshdUnavailable();
const PASSWORD = 'Files-in-the-browser-1';
const BIG = 50 * 1024 * 1024;

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (c) => h.update(c)).on('error', reject).on('end', () => resolve(h.digest('hex')));
  });
}

async function waitFor(check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('My assets and the web file manager in Chromium', { skip }, () => {
  let b: Bastion;
  let sshd: Sshd;
  let browser: Browser;
  let remote: string;
  let local: string;
  const sessions: BrowserSession[] = [];

  before(async () => {
    await ensureWebBuild(() => undefined);
    sshd = await startSshd();
    b = await startBastion();
    const f = factories(b.services);
    const alice = await f.user({ username: 'alice', password: PASSWORD });
    const bob = await f.user({ username: 'bob', password: PASSWORD });
    await f.user({ username: 'carol', password: PASSWORD });
    const web01 = await f.asset({ name: 'web01', address: sshd.host, port: sshd.port });
    const app = await f.systemUser({ name: 'app', username: sshd.username, password: sshd.password });
    await f.permission({ users: [alice.id], assets: [web01.id], systemUsers: [app.id], actions: ['connect', 'upload', 'download'] });
    await f.permission({ users: [bob.id], assets: [web01.id], systemUsers: [app.id], actions: ['connect', 'download'] });
    // Enough rows for the node tree and the label filter: eleven databases, the odd ones labelled prod.
    const databases = await f.node({ name: 'databases' });
    const dba = await f.systemUser({ name: 'dba', username: 'postgres', password: 'x-secret-1' });
    const dbs = [];
    for (let i = 1; i <= 11; i++) {
      dbs.push(await b.services.assets.create(SYSTEM_ACTOR, { name: `db${String(i).padStart(2, '0')}`, address: '127.0.0.1', port: 1, nodes: [databases.id], labels: i % 2 ? ['prod'] : ['staging'] }));
    }
    await f.permission({ users: [alice.id], assets: dbs.map((d) => d.id), systemUsers: [dba.id], actions: ['connect'] });
    remote = makeTempDir('bastion-webfiles-remote-');
    await execa('chown', [sshd.username, remote]);
    local = makeTempDir('bastion-webfiles-local-');
    browser = await launchBrowser();
  });

  after(async () => {
    await Promise.all(sessions.map((s) => s.close().catch(() => undefined)));
    await browser?.close();
    await b?.stop();
    await sshd?.stop();
    await cleanup();
  });

  async function as(username: string): Promise<BrowserSession> {
    const s = await openPage(browser, b.baseUrl);
    sessions.push(s);
    await logIn(s.page, username, PASSWORD);
    await s.page.waitForURL(/\/my-assets/);
    return s;
  }
  const rowsOf = (page: Page) => page.locator('.ant-table-tbody tr.ant-table-row');
  const firstCells = async (page: Page) => (await rowsOf(page).locator('td:nth-child(2) strong').allInnerTexts());
  const transfers = async (user: string): Promise<FileTransfer[]> =>
    b.services.ds.getRepository(FileTransferEntity).find({ where: { username: user }, order: { createdAt: 'ASC' } });

  test('My assets: a row per (asset, system user) with Connect, Files and the commands; favourites first and kept; node tree and label filter', async () => {
    const { page, errors } = await as('alice');
    await rowsOf(page).first().waitFor();
    assert.equal(await rowsOf(page).count(), 12);
    const web = rowsOf(page).filter({ hasText: 'web01' });
    const port = b.config.sshPort;
    assert.equal(await web.getByTestId('command-ssh').innerText(), `ssh -p ${port} alice@app@web01@127.0.0.1`);
    assert.equal(await web.getByTestId('command-scp').getAttribute('data-command'), `scp -P ${port} FILE alice@app@web01@127.0.0.1:/tmp/`);
    assert.equal(await web.getByTestId('command-sftp').getAttribute('data-command'), `sftp -P ${port} alice@app@web01@127.0.0.1`);
    assert.equal(await web.getByRole('link', { name: 'Connect web01 as app' }).getAttribute('href'), '/terminal/web01?systemUser=app');
    assert.equal(await web.getByRole('link', { name: 'Files web01 as app' }).getAttribute('href'), '/files/web01?systemUser=app');
    // Connect only: no Files button.
    const db03 = rowsOf(page).filter({ hasText: 'db03' });
    assert.equal(await db03.getByRole('link', { name: 'Files db03 as dba' }).count(), 0);
    assert.equal(await db03.getByRole('link', { name: 'Connect db03 as dba' }).count(), 1);

    await db03.getByRole('button', { name: 'Favourite db03 as dba' }).click();
    await page.waitForFunction(() => document.querySelector('.ant-table-tbody tr.ant-table-row td:nth-child(2) strong')?.textContent === 'db03');
    await page.reload();
    await rowsOf(page).first().waitFor();
    assert.equal((await firstCells(page))[0], 'db03', 'the favourite is kept on the server');
    assert.equal(await rowsOf(page).first().getByRole('button', { name: 'Favourite db03 as dba' }).getAttribute('aria-pressed'), 'true');

    // Many rows: the label filter and the node tree.
    await pick(page.locator('main'), 'Labels', 'prod');
    await page.waitForFunction(() => document.querySelectorAll('.ant-table-tbody tr.ant-table-row').length === 6);
    assert.deepEqual((await firstCells(page)).sort(), ['db01', 'db03', 'db05', 'db07', 'db09', 'db11']);
    // Taken off: every row is back.
    const chosen = page.locator('main .ant-select-selection-item[title="prod"]');
    await clickUntilGone(chosen.locator('.ant-select-selection-item-remove'), chosen);
    await page.waitForFunction(() => document.querySelectorAll('.ant-table-tbody tr.ant-table-row').length === 12);
    await page.getByRole('region', { name: 'Nodes' }).getByText('databases').click();
    await page.waitForFunction(() => document.querySelectorAll('.ant-table-tbody tr.ant-table-row').length === 11);
    assert.equal((await firstCells(page)).includes('web01'), false);
    await screenshot(page, '70-my-assets');
    assert.deepEqual(errors.filter((e) => !/Failed to load resource/.test(e)), []);
  });

  test('the file manager uploads (picker and drag and drop, several files, cancel) and downloads a 50 MB file byte-exact; mkdir, rename, delete', async () => {
    const big = join(local, 'big.bin');
    writeFileSync(big, randomBytes(BIG));
    const bigSha = await sha256File(big);
    const { page, errors } = await as('alice');
    await rowsOf(page).filter({ hasText: 'web01' }).getByRole('link', { name: 'Files web01 as app' }).click();
    await page.waitForURL(/\/files\/web01\?systemUser=app/);
    // The home directory first, then the test's directory by its path in the URL.
    await page.locator('.ant-breadcrumb').waitFor();
    await page.goto(`/files/web01?systemUser=app&path=${encodeURIComponent(remote)}`);
    await page.getByText('This directory is empty.').waitFor();

    await page.getByTestId('file-input').setInputFiles(big);
    const item = page.getByTestId('upload-item').filter({ hasText: 'big.bin' });
    await item.and(page.locator('[data-state="done"]')).waitFor({ timeout: 120_000 });
    assert.equal(await item.getByTestId('upload-status').innerText(), 'Uploaded');
    assert.equal(await sha256File(join(remote, 'big.bin')), bigSha, 'the upload is byte-exact');
    await page.locator('.ant-table-row').filter({ hasText: 'big.bin' }).waitFor();

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download big.bin' }).click()]);
    const saved = join(local, 'downloaded.bin');
    await download.saveAs(saved);
    assert.equal(await sha256File(saved), bigSha, 'the download is byte-exact');

    // Cancel: the upload is slowed to 2 MiB/s (Chromium's network emulation) so that it is still on its way.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 2 * 1024 * 1024 });
    const slow = join(local, 'slow.bin');
    writeFileSync(slow, randomBytes(20 * 1024 * 1024));
    await page.getByTestId('file-input').setInputFiles(slow);
    const slowItem = page.getByTestId('upload-item').filter({ hasText: 'slow.bin' });
    await slowItem.and(page.locator('[data-state="sending"]')).waitFor();
    // The asset has the file open: the upload is under way end to end.
    await waitFor(async () => existsSync(join(remote, 'slow.bin')));
    await slowItem.getByRole('button', { name: 'Cancel slow.bin' }).click();
    await slowItem.and(page.locator('[data-state="cancelled"]')).waitFor();
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await waitFor(async () => (await transfers('alice')).some((r) => r.path.endsWith('/slow.bin')));
    const cancelled = (await transfers('alice')).find((r) => r.path.endsWith('/slow.bin'))!;
    assert.deepEqual([cancelled.operation, cancelled.ok, cancelled.message], ['upload', false, 'the upload was cancelled before it ended; the partial file was removed']);
    assert.equal(existsSync(join(remote, 'slow.bin')), false);

    // Two files dropped on the directory at once.
    const dropped = await page.evaluateHandle(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['first dropped file\n'], 'one.txt'));
      dt.items.add(new File(['second dropped file\n'], 'two.txt'));
      return dt;
    });
    await page.getByTestId('drop-zone').dispatchEvent('drop', { dataTransfer: dropped });
    for (const n of ['one.txt', 'two.txt']) await page.getByTestId('upload-item').filter({ hasText: n }).and(page.locator('[data-state="done"]')).waitFor();
    assert.equal(readFileSync(join(remote, 'one.txt'), 'utf8'), 'first dropped file\n');
    assert.equal(readFileSync(join(remote, 'two.txt'), 'utf8'), 'second dropped file\n');

    await page.getByRole('button', { name: 'New folder' }).click();
    await page.getByRole('dialog').getByLabel('Name').fill('made here');
    await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
    await page.locator('.ant-table-row').filter({ hasText: 'made here' }).waitFor();
    assert.ok(existsSync(join(remote, 'made here')));

    await page.getByRole('button', { name: 'Rename one.txt' }).click();
    await page.getByRole('dialog').getByLabel('Name').fill('uno.txt');
    await page.getByRole('dialog').getByRole('button', { name: 'Rename' }).click();
    await page.locator('.ant-table-row').filter({ hasText: 'uno.txt' }).waitFor();
    assert.equal(readFileSync(join(remote, 'uno.txt'), 'utf8'), 'first dropped file\n');

    await confirmWith(page.getByRole('button', { name: 'Delete two.txt' }), 'Delete');
    await page.locator('.ant-table-row').filter({ hasText: 'two.txt' }).waitFor({ state: 'detached' });
    assert.equal(existsSync(join(remote, 'two.txt')), false);
    await screenshot(page, '71-file-manager');

    const rows = (await transfers('alice')).filter((r) => !r.path.endsWith('/slow.bin')).map((r) => [r.operation, r.path.replace(remote, '~'), r.size, r.ok]);
    // The two dropped files went up at once: their rows come in either order.
    const both = rows.splice(2, 2).sort((x, y) => String(x[1]).localeCompare(String(y[1])));
    assert.deepEqual(both, [['upload', '~/one.txt', 19, true], ['upload', '~/two.txt', 20, true]]);
    assert.deepEqual(rows, [
      ['upload', '~/big.bin', BIG, true], ['download', '~/big.bin', BIG, true],
      ['mkdir', '~/made here', 0, true], ['rename', '~/one.txt', 0, true], ['delete', '~/two.txt', 0, true],
    ]);
    assert.deepEqual(errors.filter((e) => !/Failed to load resource/.test(e)), []);
  });

  test('an upload without the upload action is refused with a clear message and a FileTransfer row; no grant, no row and no files', async () => {
    const small = join(local, 'refused.txt');
    writeFileSync(small, 'not for the asset\n');
    const { page } = await as('bob');
    await rowsOf(page).first().waitFor();
    assert.equal(await rowsOf(page).count(), 1);
    await page.goto(`/files/web01?systemUser=app&path=${encodeURIComponent(remote)}`);
    await page.locator('.ant-table-row').filter({ hasText: 'big.bin' }).waitFor();
    await page.getByTestId('file-input').setInputFiles(small);
    const item = page.getByTestId('upload-item').filter({ hasText: 'refused.txt' });
    await item.and(page.locator('[data-state="failed"]')).waitFor();
    assert.equal(await item.getByTestId('upload-status').innerText(), 'This file operation is not allowed to you.');
    assert.equal(existsSync(join(remote, 'refused.txt')), false);
    assert.deepEqual((await transfers('bob')).map((r) => [r.operation, r.path, r.ok, r.message]), [['upload', `${remote}/refused.txt`, false, 'upload is not allowed to you on web01']]);

    const carol = await as('carol');
    await carol.page.getByText('No asset has been granted to you yet.').waitFor();
    await carol.page.goto(`/files/web01?path=${encodeURIComponent(remote)}`);
    await carol.page.getByText("no asset named 'web01' is granted to you").waitFor();
    await screenshot(carol.page, '72-file-manager-refused');
  });
});
