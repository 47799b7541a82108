import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Locator, Page } from 'playwright-core';
import { ensureWebBuild } from '../server/webBuild.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { factories } from './helpers/factories.ts';
import { chooseFromMenu, clickUntilGone, confirmWith, launchBrowser, openPage, pick, screenshot, type BrowserSession } from './helpers/browser.ts';
import { cleanup } from './helpers/tmp.ts';
// Real ssh-keygen keys: ssh2's generator writes a malformed ed25519 key when the public key starts with a zero byte (about 1 in 300).
import { keygen } from './helpers/keys.ts';

/** A menu entry's accessible name: its icon's label, then the text. */
const menuName = (text: string) => new RegExp(`^(\\S+ )?${text}$`);

let b: Bastion;
let browser: Browser;
let api: ApiClient;
let f: ReturnType<typeof factories>;
let s: BrowserSession;
let page: Page;

before(async () => {
  await ensureWebBuild(() => undefined);
  b = await startBastion();
  f = factories(b.services);
  api = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
  browser = await launchBrowser();
  s = await openPage(browser, b.baseUrl);
  page = s.page;
  await page.goto('/login');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/dashboard/);
});

afterEach(async (t) => {
  // The page as the test left it, to see a failure.
  await screenshot(page, `last-${t.name.replace(/\W+/g, '-').slice(0, 40)}`).catch(() => undefined);
});

after(async () => {
  await s?.close();
  await browser?.close();
  await b?.stop();
  await cleanup();
});

async function openPageFromMenu(name: string, heading = name): Promise<void> {
  if (await page.getByRole('dialog').count()) await page.goto('/');
  await page.getByRole('navigation', { name: 'main' }).getByRole('menuitem', { name: menuName(name) }).click();
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

function dialog(): Locator {
  return page.getByRole('dialog').filter({ has: page.locator('form') });
}

/** HTML5 drag and drop with real mouse moves; rc-tree drops *inside* a node when the pointer ends in its lower half, two indents right of where the drag began. */
async function dragOnto(source: Locator, target: Locator): Promise<void> {
  const from = (await source.boundingBox())!;
  const to = (await target.boundingBox())!;
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  await page.mouse.move(from.x + from.width / 2 + 5, from.y + from.height / 2 + 5, { steps: 3 });
  await page.mouse.move(from.x + from.width / 2 + 60, to.y + to.height * 0.75, { steps: 10 });
  await page.mouse.up();
}

async function save(): Promise<void> {
  const d = dialog();
  await d.getByRole('button', { name: 'Save' }).click();
  try {
    await d.waitFor({ state: 'detached' });
  } catch (err) {
    // Say what the dialog shows (a server error, a field message) rather than only that it stayed.
    const shown = await d.innerText({ timeout: 1000 }).catch(() => '(gone)');
    throw new Error(`the dialog did not close after Save; it shows:\n${shown}\n${(err as Error).message.split('\n')[0]}`);
  }
}

/** Clicks `opener` and answers its confirmation with Delete. */
async function confirmDeleteWith(opener: Locator): Promise<void> {
  // antd may leave a finished spinner's "loading" label in the button of a confirmation opened twice.
  await confirmWith(opener, /^(loading )?Delete$/);
}

async function confirmDelete(name: string): Promise<void> {
  await confirmDeleteWith(page.getByRole('button', { name: `Delete ${name}`, exact: true }));
}

function row(text: string): Locator {
  return page.locator('.ant-table-row').filter({ hasText: text });
}

async function until<T>(fn: () => Promise<T>, ok: (t: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 50; i++) {
    const v = await fn();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('an admin creates, edits and deletes a user through the forms, with an SSH key', async () => {
  await openPageFromMenu('Users');
  await page.getByRole('button', { name: 'New user' }).click();
  const d = dialog();
  await d.getByLabel('Username').fill('carol');
  await d.getByLabel('Full name').fill('Carol Jones');
  await d.getByLabel('Email').fill('carol@example.com');
  await d.getByLabel('Password', { exact: true }).fill('carol');
  await d.getByRole('button', { name: 'Save' }).click();
  // The API's rule violation shows next to the password field.
  await d.getByText('At least 8 characters.', { exact: true }).waitFor();
  await d.getByLabel('Password', { exact: true }).fill('Sunny-day-2024');
  await screenshot(page, '10-user-form');
  await save();
  await row('carol').waitFor();

  const created = (await api.get('/users?search=carol')).body.items[0];
  assert.equal(created.name, 'Carol Jones');
  assert.equal(created.email, 'carol@example.com');
  assert.equal(created.role, 'user');
  assert.equal(created.mustChangePassword, true);

  await page.getByRole('button', { name: 'Edit carol' }).click();
  await dialog().getByLabel('Full name').fill('Carol Smith');
  await pick(dialog(), 'Role', 'Auditor');
  await save();
  await row('Carol Smith').waitFor();
  const edited = (await api.get(`/users/${created.id}`)).body;
  assert.equal(edited.name, 'Carol Smith');
  assert.equal(edited.role, 'auditor');

  // SSH keys: add by paste, the fingerprint shows.
  const { publicKey } = keygen('ed25519', undefined, 'carol@laptop');
  const drawer = page.locator('.ant-drawer:visible');
  await chooseFromMenu(page.getByRole('button', { name: 'Actions carol' }), menuName('SSH keys'), drawer);
  await drawer.getByRole('button', { name: 'Add key' }).click();
  await drawer.getByLabel('Public key (OpenSSH format)').fill(publicKey);
  await drawer.getByLabel('Key name').fill('laptop');
  await drawer.locator('form').getByRole('button', { name: 'Add key' }).click();
  await drawer.getByText(/^SHA256:/).waitFor();
  const keys = (await api.get(`/users/${created.id}/keys`)).body.items;
  assert.equal(keys.length, 1);
  assert.equal(keys[0].name, 'laptop');
  await screenshot(page, '11-user-keys');
  await drawer.getByRole('button', { name: 'Close' }).click();
  await drawer.waitFor({ state: 'hidden' });
  await screenshot(page, '12-users');

  await confirmDelete('carol');
  await row('carol').waitFor({ state: 'detached' });
  assert.equal((await api.get(`/users/${created.id}`)).status, 404);
});

test('an admin creates, edits and deletes a user group with members', async () => {
  await f.user({ username: 'dave', password: 'Night-owl-1234' });
  await openPageFromMenu('User groups');
  await page.getByRole('button', { name: 'New group' }).click();
  await dialog().getByLabel('Name').fill('ops');
  await pick(dialog(), 'Members', 'dave');
  await save();
  await row('ops').waitFor();
  const group = (await api.get('/user-groups?search=ops')).body.items[0];
  assert.deepEqual(group.users.map((u: { username: string }) => u.username), ['dave']);

  await page.getByRole('button', { name: 'Edit ops' }).click();
  await dialog().getByLabel('Name').fill('operators');
  await save();
  await row('operators').waitFor();
  assert.equal((await api.get(`/user-groups/${group.id}`)).body.name, 'operators');
  await screenshot(page, '13-user-groups');

  await confirmDelete('operators');
  await row('operators').waitFor({ state: 'detached' });
  assert.equal((await api.get(`/user-groups/${group.id}`)).status, 404);
});

test('an admin builds the node tree and manages assets in it', async () => {
  await f.systemUser({ name: 'unused' });
  const adminUser = (await api.post('/admin-users', { name: 'rootkey', username: 'root', password: 'r00t-secret' })).body;
  await openPageFromMenu('Assets');
  const tree = page.locator('.ant-tree');

  // Nodes: create under the root, create a child, rename, move by drag and drop, delete when empty.
  await page.getByRole('button', { name: 'New node' }).click();
  await dialog().getByLabel('Node name').fill('prod');
  await save();
  await tree.locator('[data-node-name="prod"]').waitFor();
  await page.getByRole('button', { name: 'New child node' }).click();
  await dialog().getByLabel('Node name').fill('web');
  await save();
  await tree.locator('[data-node-name="web"]').waitFor();
  const nodes = async () => (await api.get('/nodes')).body.items as { id: string; name: string; parent: string | null; path: string }[];
  const prod = (await nodes()).find((n) => n.name === 'prod')!;
  const web = (await nodes()).find((n) => n.name === 'web')!;
  assert.equal(web.parent, prod.id);

  await page.getByRole('button', { name: 'Rename' }).click();
  await dialog().getByLabel('Node name').fill('frontend');
  await save();
  await tree.locator('[data-node-name="frontend"]').waitFor();
  assert.equal((await nodes()).find((n) => n.id === web.id)!.name, 'frontend');

  // With "frontend" selected the button makes a child; "All assets" clears the selection.
  await page.getByRole('button', { name: 'All assets' }).click();
  await page.getByRole('button', { name: 'New node' }).click();
  await dialog().getByLabel('Node name').fill('staging');
  await save();
  await tree.locator('[data-node-name="staging"]').waitFor();
  await dragOnto(tree.locator('[data-node-name="frontend"]'), tree.locator('[data-node-name="staging"]'));
  const staging = await until(nodes, (list) => list.find((n) => n.id === web.id)!.parent !== prod.id, 'the node to move');
  assert.equal(staging.find((n) => n.id === web.id)!.parent, staging.find((n) => n.name === 'staging')!.id);

  // Assets: create in the selected node, edit, find through the API, delete.
  await tree.locator('[data-node-name="frontend"]').click();
  await page.getByRole('button', { name: 'New asset' }).click();
  const d = dialog();
  await d.getByLabel('Asset name').fill('web02');
  await d.getByLabel('Address').fill('10.0.0.22');
  await d.getByLabel('Port').fill('2202');
  await pick(d, 'Admin user', 'rootkey (root)');
  await d.getByLabel('Labels').fill('nginx');
  await d.getByLabel('Labels').press('Enter');
  await d.getByLabel('Comment').fill('frontend box');
  await screenshot(page, '14-asset-form');
  await save();
  await row('web02').waitFor();
  const asset = (await api.get('/assets?search=web02')).body.items[0];
  assert.equal(asset.address, '10.0.0.22');
  assert.equal(asset.port, 2202);
  assert.equal(asset.adminUser, adminUser.id);
  assert.deepEqual(asset.labels, ['nginx']);
  assert.deepEqual(asset.nodes.map((n: { id: string }) => n.id), [web.id]);

  await page.getByRole('button', { name: 'Edit web02' }).click();
  await dialog().getByLabel('Port').fill('22');
  await save();
  await until(async () => (await api.get(`/assets/${asset.id}`)).body.port, (p) => p === 22, 'the port change');
  await screenshot(page, '15-assets');

  // A node with an asset is not deleted; the error is shown.
  await confirmDeleteWith(page.getByRole('button', { name: 'Delete node' }));
  await page.locator('.ant-message').getByText(/./).first().waitFor();
  assert.ok((await nodes()).some((n) => n.id === web.id));

  await confirmDelete('web02');
  await row('web02').waitFor({ state: 'detached' });
  assert.equal((await api.get(`/assets/${asset.id}`)).status, 404);

  await tree.locator('[data-node-name="frontend"]').click();
  await confirmDeleteWith(page.getByRole('button', { name: 'Delete node' }));
  await tree.locator('[data-node-name="frontend"]').waitFor({ state: 'detached' });
  assert.ok(!(await nodes()).some((n) => n.id === web.id));
});

test('an admin imports assets from CSV and gets a report per row', async () => {
  await openPageFromMenu('Assets');
  await page.getByRole('button', { name: 'Import CSV' }).click();
  const modal = page.getByRole('dialog');
  const csv = 'name,address,port,platform,labels,comment\ncsv01,127.0.0.1,1,linux,a;b,"first, with comma"\ncsv02,not a host!,22,linux,,\ncsv03,127.0.0.1,22,bsd,,\n';
  await modal.locator('input[type=file]').setInputFiles({ name: 'assets.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await modal.getByRole('button', { name: 'Import', exact: true }).click();
  await modal.getByText('2 created, 1 failed').waitFor();
  await modal.locator('.ant-table-row').filter({ hasText: 'csv02' }).getByText(/Address/).waitFor();
  await screenshot(page, '24-asset-import');
  await modal.getByRole('button', { name: 'Close', exact: true }).first().click();
  const csv01 = (await api.get('/assets?search=csv01')).body.items[0];
  assert.deepEqual(csv01.labels, ['a', 'b']);
  assert.equal(csv01.comment, 'first, with comma');
  assert.equal((await api.get('/assets?search=csv02')).body.total, 0);

  // The detail page: connectivity test against a closed loopback port reports the failure.
  await page.goto(`/assets/${csv01.id}`);
  await page.getByRole('button', { name: 'Test connectivity' }).click();
  await page.locator('.ant-message').getByText(/Not reachable/).waitFor({ timeout: 30_000 });
  await screenshot(page, '25-asset-detail-test');
});

test('an admin creates an admin user; the list shows only whether its secrets are set', async () => {
  await openPageFromMenu('Admin users');
  await page.getByRole('button', { name: 'New admin user' }).click();
  await dialog().getByLabel('Name', { exact: true }).fill('ansible');
  await dialog().getByLabel('Account name on the server').fill('ansible');
  await dialog().getByLabel('Private key').fill(keygen().privateKey);
  await save();
  const r = row('ansible');
  await r.waitFor();
  assert.deepEqual(await r.locator('.ant-tag').allInnerTexts(), ['not set', 'set']);
  const au = (await api.get('/admin-users?search=ansible')).body.items[0];
  assert.equal(au.hasPrivateKey, true);
  assert.equal(au.privateKey, undefined);
  await screenshot(page, '26-admin-users');
});

test('an admin manages a system user whose secrets stay write-only', async () => {
  await openPageFromMenu('System users');
  await page.getByRole('button', { name: 'New system user' }).click();
  const d = dialog();
  await d.getByLabel('Name', { exact: true }).fill('deployer');
  await d.getByLabel('Account name on the server').fill('deploy');
  await d.getByLabel('Password').fill('Deploy-secret-1');
  await d.getByLabel('Priority').fill('10');
  await save();
  await row('deployer').waitFor();
  const su = (await api.get('/system-users?search=deployer')).body.items[0];
  assert.equal(su.username, 'deploy');
  assert.equal(su.hasPassword, true);
  assert.equal(su.hasPrivateKey, false);
  assert.equal(su.priority, 10);
  assert.equal(su.password, undefined);
  assert.equal(await page.getByText('Deploy-secret-1').count(), 0);

  await page.getByRole('button', { name: 'Edit deployer' }).click();
  await dialog().getByText('set', { exact: true }).first().waitFor();
  const { privateKey } = keygen();
    await dialog().getByLabel('Private key').fill(privateKey);
  await dialog().getByRole('button', { name: 'Clear' }).click();
  await dialog().getByLabel('Manual (the operator types it)').check();
  await screenshot(page, '16-system-user-form');
  await save();
  const after = await until(async () => (await api.get(`/system-users/${su.id}`)).body, (x) => x.hasPrivateKey === true, 'the key to be set');
  assert.equal(after.hasPassword, false);
  assert.equal(after.loginMode, 'manual');
  await screenshot(page, '17-system-users');

  await confirmDelete('deployer');
  await row('deployer').waitFor({ state: 'detached' });
  assert.equal((await api.get(`/system-users/${su.id}`)).status, 404);
});

test('an admin grants a permission with the pickers, sees who can reach the asset, and revokes it', async () => {
  const erin = await f.user({ username: 'erin', password: 'Green-tea-1234' });
  const db = await f.asset({ name: 'db01', address: '10.0.0.5' });
  const dba = await f.systemUser({ name: 'dba', username: 'postgres' });
  await openPageFromMenu('Permissions');
  await page.getByRole('button', { name: 'New permission' }).click();
  const d = dialog();
  await d.getByLabel('Name', { exact: true }).fill('erin-db');
  await pick(d, 'Users', 'erin');
  await pick(d, 'Assets', 'db01 (10.0.0.5)');
  await pick(d, 'System users', 'dba (postgres)');
  await d.getByLabel('Download').check();
  await screenshot(page, '18-permission-form');
  await save();
  await row('erin-db').waitFor();
  const perm = (await api.get('/permissions?search=erin-db')).body.items[0];
  assert.deepEqual(perm.users.map((u: { id: string }) => u.id), [erin.id]);
  assert.deepEqual(perm.assets.map((a: { id: string }) => a.id), [db.id]);
  assert.deepEqual(perm.systemUsers.map((x: { id: string }) => x.id), [dba.id]);
  assert.deepEqual([...perm.actions].sort(), ['connect', 'download']);
  await screenshot(page, '19-permissions');

  // "Who can reach this asset", computed by core/access.
  await page.goto(`/assets/${db.id}`);
  await page.locator('.ant-card').filter({ hasText: 'Who can reach this asset' }).getByText('erin').waitFor();
  await screenshot(page, '20-asset-reachers');

  // "What can this user reach", also from core/access.
  await openPageFromMenu('Users');
  await chooseFromMenu(page.getByRole('button', { name: 'Actions erin' }), 'What can this user reach', page.locator('.ant-drawer:visible'));
  await page.locator('.ant-drawer:visible').locator('.ant-table-row').filter({ hasText: 'db01' }).getByText('postgres').waitFor();
  await screenshot(page, '21-user-reach');
  await page.locator('.ant-drawer:visible').getByRole('button', { name: 'Close' }).click();

  await openPageFromMenu('Permissions');
  await f.permission({ name: 'someone-else', users: [(await f.user({ password: 'Other-pass-9876' })).id], assets: [db.id], systemUsers: [dba.id] });
  await pick(page.locator('main'), 'Filter by user', 'erin');
  await row('erin-db').waitFor();
  assert.equal(await row('someone-else').count(), 0, 'the user filter hides other grants');
  await page.getByRole('button', { name: 'Edit erin-db' }).click();
  await dialog().getByLabel('Upload').check();
  await dialog().getByLabel('Active').click();
  await save();
  const edited = await until(async () => (await api.get(`/permissions/${perm.id}`)).body, (p) => p.active === false, 'the permission to be disabled');
  assert.deepEqual([...edited.actions].sort(), ['connect', 'download', 'upload']);

  await confirmDelete('erin-db');
  await row('erin-db').waitFor({ state: 'detached' });
  assert.equal((await api.get(`/permissions/${perm.id}`)).status, 404);
});

test('the audit pages list the logins and the operations just made', async () => {
  await openPageFromMenu('Login log');
  await row('admin').first().waitFor();
  await screenshot(page, '22-login-log');
  await openPageFromMenu('Operation log');
  await row('erin-db').first().waitFor();
  await screenshot(page, '23-operation-log');
  await openPageFromMenu('My profile');
  await screenshot(page, '27-profile');
  assert.deepEqual(s.errors.filter((e) => !/Failed to load resource/.test(e)), []);
});

/** Visible form controls that have no accessible name (no <label>, aria-label or aria-labelledby). */
let inputsChecked = 0;
async function unlabelled(): Promise<string[]> {
  inputsChecked += await page.locator('input:not([type=hidden]):not([type=file]):visible, textarea:visible').count();
  return page.locator('input:not([type=hidden]):not([type=file]), textarea, select').evaluateAll((els) => els
    .filter((e) => (e as HTMLElement).offsetParent !== null)
    .filter((e) => {
      const el = e as HTMLInputElement;
      const labelled = (el.labels?.length ?? 0) > 0 || !!el.getAttribute('aria-label') || !!el.getAttribute('aria-labelledby');
      return !labelled;
    })
    .map((e) => e.outerHTML.slice(0, 160)));
}

test('every input on every page and create form has a label', async () => {
  const pages: [string, string | null][] = [
    ['Dashboard', null], ['Users', 'New user'], ['User groups', 'New group'], ['Assets', 'New asset'], ['System users', 'New system user'],
    ['Admin users', 'New admin user'], ['Permissions', 'New permission'], ['Sessions', null], ['Login log', null], ['Operation log', null],
    ['My assets', null], ['My profile', null],
  ];
  for (const [name, create] of pages) {
    await openPageFromMenu(name);
    assert.deepEqual(await unlabelled(), [], `inputs without a label on ${name}`);
    if (!create) continue;
    await page.getByRole('button', { name: create }).click();
    await dialog().waitFor();
    assert.deepEqual(await unlabelled(), [], `inputs without a label in "${create}"`);
    await clickUntilGone(dialog().getByRole('button', { name: 'Cancel' }), dialog());
  }
  assert.ok(inputsChecked > 40, `only ${inputsChecked} inputs were checked`);
});

