// Every page of the web console, walked in real Chromium (issue 15 items 1, 6, 7): in zh-CN no
// visible word is a raw enum value or error code; every page has its own tab title, one <main>
// and no serious or critical axe-core violation; at 390×844 nothing is wider than the screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { ensureWebBuild } from '../server/webBuild.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { factories } from './helpers/factories.ts';
import { launchBrowser, openPage, screenshot, type BrowserSession } from './helpers/browser.ts';
import { cleanup } from './helpers/tmp.ts';
import { ApiClient, loggedIn } from './helpers/api.ts';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Values the API sends as codes (session status and kind, risk, login channel/method/reason,
 * operation actions and resource types, job kinds and statuses, error codes): in zh-CN none may
 * be on screen as such. Compared case-sensitively as whole words.
 */
const CODES = new Set([
  'active', 'closed', 'terminated', 'failed', 'interrupted', 'shell', 'exec', 'sftp', 'tunnel',
  'normal', 'warning', 'denied', 'password', 'publickey', 'keyboard-interactive', 'password+totp', 'recovery_code', 'totp',
  'ok', 'invalid_credentials', 'invalid_totp', 'totp_reused', 'mfa_enrolment_required', 'rate_limited', 'database_unavailable', 'inactive', 'expired', 'locked',
  'create', 'update', 'delete', 'lock', 'unlock', 'reset_mfa', 'reset_password', 'enable_mfa', 'disable_mfa', 'clear_host_key', 'terminate', 'run', 'purge',
  'user_group', 'system_user', 'admin_user', 'command_filter', 'login_lock', 'mfa_policy', 'permission', 'asset', 'node', 'session', 'job',
  'validation_failed', 'not_found', 'conflict', 'forbidden', 'unauthenticated', 'internal',
  'queued', 'running', 'succeeded', 'canceled', 'connectivity', 'facts', 'command', 'upload', 'download', 'connect', 'web', 'api',
]);

let b: Bastion;
let browser: Browser;
let s: BrowserSession;
const paths: string[] = [];

before(async () => {
  await ensureWebBuild(() => undefined);
  b = await startBastion();
  const f = factories(b.services);
  const sv = b.services;
  // A little of everything, so that every column with a code has a value to show.
  const op = await f.user({ username: 'olga', password: 'Orca-pass-2024x' });
  const group = await f.group({ name: 'ops-team', users: [op.id] });
  const asset = await f.asset({ name: 'web01', comment: 'front' });
  const su = await f.systemUser({ name: 'deployer', username: 'deploy', password: 'Su-secret-1' });
  await f.permission({ name: 'ops-web', users: [op.id], userGroups: [group.id], assets: [asset.id], systemUsers: [su.id], actions: ['connect', 'upload'] });
  await sv.commandFilters.create({ id: op.id, username: 'admin', role: 'admin', clientAddress: '127.0.0.1' }, { name: 'no-reboot', pattern: 'reboot', kind: 'commands', action: 'deny' });
  const live = await f.liveSession(['{"version": 2, "width": 80, "height": 24, "timestamp": 1767225600}', '[0.1, "o", "$ uptime\\r\\n up 3 days\\r\\n"]']);
  await sv.sessions.addCommand(live, { input: 'uptime', output: 'up 3 days', offsetMs: 100, at: new Date() });
  await sv.sessions.addCommand(live, { input: 'reboot', output: '', offsetMs: 200, at: new Date(), risk: 'denied' });
  await sv.sessions.flushCommands();
  await sv.sessions.end(live.id, { status: 'terminated', bytesIn: 10, bytesOut: 40, exitStatus: null });
  const job = await sv.jobs.start({ id: op.id, username: 'admin', role: 'admin', clientAddress: '127.0.0.1' }, 'command', { command: 'uptime' }, [{ id: asset.id, name: asset.name }],
    async () => ({ ok: true, exitCode: 0, output: 'up 3 days' }), 'uptime');
  for (let i = 0; i < 100 && (await sv.jobs.get(job.id)).status !== 'succeeded'; i++) await new Promise((r) => setTimeout(r, 20));
  // Login log rows of several reasons and methods; operation log rows of several actions.
  await new ApiClient(b.baseUrl).login('olga', 'wrong-password-1');
  await loggedIn(b.baseUrl, 'olga', 'Orca-pass-2024x');
  const admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
  await admin.post(`/users/${op.id}/lock`);
  await admin.post(`/users/${op.id}/unlock`);
  await admin.patch('/mfa-policy', { user: false, auditor: true });
  await admin.patch('/mfa-policy', { auditor: false });

  paths.push('/dashboard', '/users', '/user-groups', '/assets', `/assets/${asset.id}`, '/system-users', '/admin-users', '/permissions', '/command-filters',
    '/sessions', `/sessions/${live.id}`, `/sessions/${live.id}/play`, '/commands', '/audit/logins', '/audit/operations', '/audit/file-transfers',
    '/my-assets', '/profile', '/jobs', `/jobs/${job.id}`);
  browser = await launchBrowser();
  s = await openPage(browser, b.baseUrl, { locale: 'zh-CN' });
  await s.page.goto('/login');
  await s.page.evaluate(() => localStorage.setItem('bastion.language', 'zh'));
  await s.page.reload();
  await s.page.locator('#login_username').fill('admin');
  await s.page.locator('#login_password').fill(ADMIN_PASSWORD);
  await s.page.locator('form[id=login] button[type=submit]').click();
  await s.page.waitForURL((u) => !u.pathname.startsWith('/login'));
});

after(async () => {
  await s?.close().catch(() => undefined);
  await browser?.close();
  await b?.stop();
  await cleanup();
});

/** Opens a page and waits until its heading is drawn and its data has arrived. */
async function visit(page: Page, path: string): Promise<void> {
  await page.goto(path);
  // Generous: the suite shares two cores with everything else.
  await page.locator('h1').first().waitFor({ timeout: 30_000 });
  await page.waitForLoadState('networkidle');
  await page.locator('.ant-spin-spinning').first().waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined);
}

async function axeViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, which the page's CSP (script-src 'self') does not govern.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; impact: string | null; nodes: { target: string[] }[] }[] }> } }).axe;
    return axe.run(document, { resultTypes: ['violations'], runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
  });
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}) at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

test('in zh-CN every page shows no raw code, has its own title and one <main>, and axe finds no serious or critical violation', async () => {
  const { page } = s;
  const problems: string[] = [];
  const titles = new Set<string>();
  for (const path of ['/login-as-shown', ...paths]) {
    if (path === '/login-as-shown') continue;
    await visit(page, path);
    // Machine output (terminal, job log, command lines) is data, not interface text.
    const text = await page.evaluate(() => {
      const copy = document.body.cloneNode(true) as HTMLElement;
      copy.querySelectorAll('pre, code, .xterm, .ap-wrapper, .mono, script, style').forEach((e) => e.remove());
      document.body.appendChild(copy);
      copy.style.position = 'absolute';
      const t = copy.innerText;
      copy.remove();
      return t;
    });
    const raw = [...new Set(text.split(/[^A-Za-z0-9_+-]+/).filter((w) => CODES.has(w)))];
    if (raw.length) problems.push(`${path}: raw codes on screen: ${raw.join(', ')}`);
    const title = await page.title();
    if (!/ · 堡垒机$/.test(title)) problems.push(`${path}: tab title "${title}"`);
    titles.add(title);
    const mains = await page.locator('main').count();
    if (mains !== 1) problems.push(`${path}: ${mains} <main> elements`);
    for (const v of await axeViolations(page)) problems.push(`${path}: axe ${v}`);
  }
  assert.deepEqual(problems, []);
  assert.ok(titles.size >= paths.length - 4, `pages have their own titles: ${[...titles].join(' | ')}`);
  assert.deepEqual(s.errors.filter((e) => !/Failed to load resource/.test(e)), []);
});

test('the login page and a server refusal read in zh-CN, with a title, one <main>, a visible focus and no axe violation', async () => {
  const anon = await openPage(browser, b.baseUrl, { locale: 'zh-CN' });
  try {
    const { page } = anon;
    await page.goto('/login');
    await page.locator('#login_username').fill('nobody');
    await page.locator('#login_password').fill('wrong-password-2');
    await page.locator('form[id=login] button[type=submit]').click();
    await page.getByText('用户名或密码错误。').waitFor();
    assert.match(await page.title(), / · 堡垒机$/);
    assert.equal(await page.locator('main').count(), 1);
    assert.deepEqual(await axeViolations(page), []);
    // Keyboard focus is drawn (a 2 px outline), not left to the browser's defaults that antd turns off.
    await page.locator('#login_username').focus();
    await page.keyboard.press('Tab');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    assert.notEqual(outline, 'none');
  } finally {
    await anon.close();
  }
});

test('the skip link is the first stop of the keyboard and moves focus to the page content', async () => {
  const { page } = s;
  await visit(page, '/users');
  await page.keyboard.press('Tab');
  const first = page.locator(':focus');
  assert.equal(await first.innerText(), '跳到主要内容');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
});

test('at 390×844 no page is wider than the screen, the menu is an overlay and tables become cards', async () => {
  const { page } = s;
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    const wide: string[] = [];
    for (const path of paths) {
      await visit(page, path);
      const overflow = await page.evaluate(() => {
        const w = document.documentElement.clientWidth;
        if (document.documentElement.scrollWidth <= w) return null;
        const culprits = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > w + 1)
          .slice(0, 3).map((e) => `${e.tagName.toLowerCase()}.${String((e as HTMLElement).className).split(' ')[0]}`);
        return `${document.documentElement.scrollWidth}px > ${w}px (${culprits.join(', ')})`;
      });
      if (overflow) wide.push(`${path}: ${overflow}`);
    }
    assert.deepEqual(wide, []);
    await visit(page, '/users');
    assert.equal(await page.getByRole('navigation', { name: 'main' }).count(), 0, 'no side menu squeezing the page');
    await page.getByRole('button', { name: '打开菜单' }).click();
    await screenshot(page, '61-phone-menu');
    await page.getByRole('navigation', { name: 'main' }).getByText('资产列表', { exact: true }).click();
    await page.waitForURL(/\/assets$/);
    const cell = page.locator('tr.ant-table-row td[data-label]').first();
    await cell.waitFor();
    assert.equal(await page.locator('.ant-table-thead').first().isVisible(), false, 'no header row: each cell is labelled');
    await screenshot(page, '60-phone-assets');
  } finally {
    await page.setViewportSize({ width: 1400, height: 900 });
  }
});
