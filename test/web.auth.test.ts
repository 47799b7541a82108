import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { authenticator } from 'otplib';
import { ensureWebBuild } from '../server/webBuild.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { ApiClient, loggedIn } from './helpers/api.ts';
import { factories } from './helpers/factories.ts';
import { chooseFromMenu, confirmWith, launchBrowser, openPage, screenshot, type BrowserSession } from './helpers/browser.ts';
import { cleanup } from './helpers/tmp.ts';

/** A menu entry's accessible name: its icon's label, then the text. */
const menuName = (text: string) => new RegExp(`^(\\S+ )?${text}$`);

let b: Bastion;
let browser: Browser;
let f: ReturnType<typeof factories>;
const sessions: BrowserSession[] = [];

before(async () => {
  await ensureWebBuild(() => undefined);
  // The true first start: no BASTION_ADMIN_PASSWORD, so the admin is admin/admin and must change it.
  b = await startBastion({ env: { BASTION_ADMIN_PASSWORD: undefined as unknown as string } });
  f = factories(b.services);
  browser = await launchBrowser();
});

after(async () => {
  await Promise.all(sessions.map((s) => s.close().catch(() => undefined)));
  await browser?.close();
  await b?.stop();
  await cleanup();
});

async function fresh(): Promise<BrowserSession> {
  const s = await openPage(browser, b.baseUrl);
  sessions.push(s);
  return s;
}

async function login(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/** The app's own errors, not the 401 of the first GET /me that tells it nobody is logged in. */
const appErrors = (s: BrowserSession) => s.errors.filter((e) => !/Failed to load resource/.test(e));

test('the page is served with the security headers (CSP without inline scripts, nosniff, no framing)', async () => {
  const res = await fetch(b.baseUrl + '/');
  assert.equal(res.status, 200);
  const csp = res.headers.get('content-security-policy') ?? '';
  // Scripts only from the bastion; WebAssembly compilation (the recording player) is the one extra.
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
  assert.doesNotMatch(csp, /script-src[^;]*'unsafe-eval'/);
  assert.doesNotMatch(csp, /script-src[^;]*unsafe-inline/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  const html = await res.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script in index.html');
  assert.doesNotMatch(html, /https?:\/\//, 'nothing referenced from outside the bastion');
  assert.equal(res.headers.get('cache-control'), 'no-store', 'index.html is asked for every time, so a new build is picked up');
  // Built assets are named by content hash: cached for good, never revalidated.
  const script = /<script[^>]*\bsrc="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(script, 'index.html loads a hashed script from /assets/');
  const asset = await fetch(b.baseUrl + script);
  assert.equal(asset.status, 200);
  assert.match(asset.headers.get('cache-control') ?? '', /max-age=31536000, immutable/);
  await asset.arrayBuffer();
});

test('first login with admin/admin goes to the forced password change, then into the app', async () => {
  const s = await fresh();
  const { page } = s;
  await page.goto('/');
  await page.waitForURL(/\/login/);
  await screenshot(page, '01-login');
  await login(page, 'admin', 'admin');
  await page.waitForURL(/\/change-password/);
  await page.getByRole('heading', { name: 'Change your password' }).waitFor();
  await screenshot(page, '02-forced-password-change');

  // The API itself refuses anything else until the password is changed.
  await page.goto('/users');
  await page.waitForURL(/\/change-password/);

  await page.getByLabel('Current password').fill('admin');
  await page.getByLabel('New password', { exact: true }).fill('short');
  await page.getByLabel('Repeat the new password').fill('short');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByText('At least 8 characters.').waitFor();

  await page.getByLabel('New password', { exact: true }).fill(ADMIN_PASSWORD);
  await page.getByLabel('Repeat the new password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.waitForURL(/\/dashboard/);
  await page.getByRole('navigation', { name: 'main' }).getByRole('menuitem', { name: menuName('Users') }).waitFor();

  const api = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
  const me = await api.get('/me');
  assert.equal(me.body.mustChangePassword, false);
  assert.deepEqual(appErrors(s), []);
});

test('a wrong password shows one clear error that does not say which part was wrong', async () => {
  const { page } = await fresh();
  await login(page, 'admin', 'not-the-password');
  const alert = page.getByRole('alert').filter({ hasText: 'Invalid username or password.' });
  await alert.waitFor();
  await login(page, 'nobody-here', 'not-the-password');
  await alert.waitFor();
  await screenshot(page, '03-login-error');
});

test('a locked (user, address) pair reads like a wrong password (rule 9); the admin sees the lock on the users page and clears it', async () => {
  await f.user({ username: 'mallory', password: 'Right-pass-4321' });
  const api = new ApiClient(b.baseUrl);
  for (let i = 0; i < b.config.lockoutThreshold; i++) await api.login('mallory', `wrong-pass-${i}`);
  const { page } = await fresh();
  await login(page, 'mallory', 'Right-pass-4321');
  await page.getByRole('alert').filter({ hasText: 'Invalid username or password.' }).waitFor();
  await screenshot(page, '03-login-locked');
  const admin = await fresh();
  await login(admin.page, 'admin', ADMIN_PASSWORD);
  await admin.page.waitForURL(/\/dashboard/);
  await admin.page.goto('/users');
  const panel = admin.page.locator('.ant-card').filter({ hasText: 'Login locks (user from one address)' });
  await panel.getByRole('cell', { name: 'mallory', exact: true }).waitFor();
  await panel.getByRole('button', { name: 'Clear mallory 127.0.0.1' }).click();
  await admin.page.getByText('Lock of mallory from 127.0.0.1 cleared.').waitFor();
  assert.equal((await new ApiClient(b.baseUrl).login('mallory', 'Right-pass-4321')).status, 200);
});

test('a deep link reloads into the same page, and a session that ends sends the user back to login', async () => {
  const s = await fresh();
  const { page, context } = s;
  const asset = await f.asset({ name: 'deep01', address: '10.9.8.7' });
  await login(page, 'admin', ADMIN_PASSWORD);
  await page.waitForURL(/\/dashboard/);
  await page.goto(`/assets/${asset.id}`);
  await page.getByRole('heading', { name: /deep01/ }).waitFor();
  await page.reload();
  await page.getByRole('heading', { name: /deep01/ }).waitFor();
  assert.match(page.url(), new RegExp(`/assets/${asset.id}$`));
  await screenshot(page, '04-asset-detail');

  await context.clearCookies();
  await page.getByRole('navigation', { name: 'main' }).getByRole('menuitem', { name: menuName('Permissions') }).click();
  await page.waitForURL(/\/login\?next=/);
  await page.getByText('Your session has ended. Please log in again.').waitFor();
  await login(page, 'admin', ADMIN_PASSWORD);
  await page.waitForURL(/\/dashboard|\/permissions/);
});

test("the app frame's antd styles come from the build's stylesheet, not generated in the browser", async () => {
  const s = await fresh();
  const { page } = s;
  await login(page, 'admin', ADMIN_PASSWORD);
  await page.waitForURL(/\/dashboard/);
  await page.goto('/users');
  await page.getByRole('table').waitFor();
  const inlineRules: string = await page.evaluate(() => [...document.querySelectorAll('style')].map((el) => el.textContent ?? '').join('\n'));
  const generated = (component: string) => new RegExp(`:where\\(\\.css-[\\w-]+\\)\\.ant-${component}\\b`).test(inlineRules);
  // The frame and common components were extracted at build time with the app's own theme; had
  // the class hashes differed (another theme, another NODE_ENV), antd would have generated them here.
  for (const c of ['layout', 'menu', 'btn', 'select', 'typography']) assert.ok(!generated(c), `${c} styles were generated in the browser`);
  // Components left out of the stylesheet still get theirs at runtime (and the check above can fail).
  assert.ok(generated('table'), 'the Table styles are generated in the browser');
  // And the extracted styles apply, with the theme's primary colour.
  const selected = page.getByRole('navigation', { name: 'main' }).locator('.ant-menu-item-selected');
  assert.equal(await selected.evaluate((el) => getComputedStyle(el).color), 'rgb(9, 88, 217)');
  assert.deepEqual(appErrors(s), []);
});

test('a plain user sees only their profile and assets, with the ssh command to copy', async () => {
  const alice = await f.user({ username: 'alice', password: 'Wonder-land-123' });
  const web = await f.asset({ name: 'web01', address: '10.1.2.3' });
  const su = await f.systemUser({ name: 'deploy', username: 'deploy', password: 'x-secret-1' });
  await f.permission({ name: 'alice-web', users: [alice.id], assets: [web.id], systemUsers: [su.id], actions: ['connect', 'upload'] });

  const s = await fresh();
  const { page } = s;
  await login(page, 'alice', 'Wonder-land-123');
  await page.waitForURL(/\/my-assets/);
  const nav = page.getByRole('navigation', { name: 'main' });
  await nav.getByText('My assets').waitFor();
  await nav.getByText('My profile').waitFor();
  for (const hidden of ['Users', 'Assets', 'Permissions', 'Sessions', 'Login log', 'Dashboard']) {
    assert.equal(await nav.getByRole('menuitem', { name: menuName(hidden) }).count(), 0, `${hidden} is not in alice's menu`);
  }
  const command = page.getByTestId('command-ssh');
  await command.waitFor();
  assert.match(await command.innerText(), /^ssh -p \d+ alice@deploy@web01@/);
  await screenshot(page, '05-my-assets');

  // An admin page by URL is refused by the app, and by the API behind it.
  await page.goto('/users');
  await page.getByText('Your role does not allow this page.').waitFor();
  const api = await loggedIn(b.baseUrl, 'alice', 'Wonder-land-123');
  assert.equal((await api.get('/users')).status, 403);
  assert.deepEqual(appErrors(s), []);
});

test('TOTP enrolment with the QR code, then login asks for the code and accepts it', async () => {
  await f.user({ username: 'bob', password: 'Bob-pass-1234' });
  const s = await fresh();
  const { page } = s;
  await login(page, 'bob', 'Bob-pass-1234');
  await page.waitForURL(/\/my-assets/);
  await page.getByRole('navigation', { name: 'main' }).getByText('My profile').click();
  await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
  await page.getByRole('img', { name: 'TOTP QR code' }).waitFor();
  const secret = (await page.getByTestId('totp-secret').innerText()).trim();
  assert.match(secret, /^[A-Z2-7]+=*$/);
  await screenshot(page, '06-profile-totp');

  await page.getByLabel('Code from the app').fill('000000' === authenticator.generate(secret) ? '111111' : '000000');
  await page.getByRole('button', { name: 'Verify and enable' }).click();
  await page.locator('.ant-form-item-explain-error').first().waitFor();

  await page.getByLabel('Code from the app').fill(authenticator.generate(secret));
  await page.getByRole('button', { name: 'Verify and enable' }).click();
  // Ten recovery codes, shown once, until the user says they are saved.
  const recovery = page.getByTestId('recovery-codes');
  await recovery.waitFor();
  const codes = (await recovery.locator('li').allInnerTexts()).map((c) => c.trim());
  assert.equal(codes.length, 10);
  for (const c of codes) assert.match(c, /^[a-z2-9]{5}-[a-z2-9]{5}$/);
  await recovery.getByRole('button', { name: 'I have saved them' }).click();
  await page.getByTestId('totp-status').filter({ hasText: 'Two-factor authentication is on.' }).waitFor();
  await page.getByTestId('totp-status').filter({ hasText: '10 recovery codes left' }).waitFor();

  await chooseFromMenu(page.getByTestId('account-menu'), /Log out$/, page.getByRole('button', { name: 'Log in' }));
  await page.waitForURL(/\/login/);

  await login(page, 'bob', 'Bob-pass-1234');
  await page.getByLabel('One-time code').waitFor();
  await page.getByLabel('One-time code').fill('123456' === authenticator.generate(secret) ? '654321' : '123456');
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByText('Invalid one-time code.').waitFor();
  await screenshot(page, '07-login-totp');
  // The enrolment code is spent; the next time step's code is valid within the window.
  await page.getByLabel('One-time code').fill(authenticator.clone({ epoch: Date.now() + 30_000 }).generate(secret));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL(/\/my-assets/);

  const api = new ApiClient(b.baseUrl);
  assert.equal((await api.login('bob', 'Bob-pass-1234')).body.error.details.reason, 'totp_required');

  // An API token: shown once, usable as a Bearer token, then revoked.
  await page.getByRole('navigation', { name: 'main' }).getByRole('menuitem', { name: menuName('My profile') }).click();
  await page.getByLabel('Token name').fill('ci');
  await page.getByRole('button', { name: 'Create token' }).click();
  const token = (await page.getByTestId('new-token').innerText()).trim();
  const script = new ApiClient(b.baseUrl);
  script.token = token;
  assert.equal((await script.get('/me')).body.username, 'bob');
  await screenshot(page, '09-profile-token');
  await page.reload();
  assert.equal(await page.getByTestId('new-token').count(), 0, 'the token text is shown once');
  await confirmWith(page.getByRole('button', { name: 'Delete ci' }), /^(loading )?Delete$/);
  await page.locator('.ant-table-row').filter({ hasText: 'ci' }).waitFor({ state: 'detached' });
  assert.equal((await script.get('/me')).status, 401);
  assert.deepEqual(appErrors(s), []);
});

test('the app switches to Simplified Chinese and remembers it', async () => {
  const { page } = await fresh();
  await page.goto('/login');
  await page.getByLabel('Language').first().selectOption('zh');
  await page.getByRole('heading', { name: '登录堡垒机' }).waitFor();
  await page.reload();
  await page.getByRole('heading', { name: '登录堡垒机' }).waitFor();
  await page.getByLabel('用户名').fill('admin');
  await page.getByLabel('密码').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: '登录' }).click();
  await page.waitForURL(/\/dashboard/);
  await page.getByRole('navigation', { name: 'main' }).getByText('资产授权').waitFor();
  await screenshot(page, '08-chinese');
});
