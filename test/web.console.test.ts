// Every page of the web console, walked in real Chromium (issue 15 items 1, 6, 7): in zh-CN no
// visible word is a raw enum value or error code; every page has its own tab title, one <main>
// and no serious or critical axe-core violation; at 390×844 nothing is wider than the screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { ensureWebBuild } from '../server/webBuild.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { factories } from './helpers/factories.ts';
import { animationsSettled, clickUntil, confirmationBox, escapeUntilGone, launchBrowser, openPage, screenshot, type BrowserSession } from './helpers/browser.ts';
import { cleanup } from './helpers/tmp.ts';
import { ApiClient, loggedIn } from './helpers/api.ts';
import { ERROR_REASONS } from '../core/errorReasons.ts';
import { en } from '../web/src/i18n/en.ts';
import { zh } from '../web/src/i18n/zh.ts';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Values the API sends as codes, derived from the code rather than kept by hand: every string
 * literal of a union type or z.enum in core/, server/routes/ and gateway/, the literal `action`,
 * `status`, `reason`, … values they write, every error reason (core/errorReasons.ts) and code, and
 * the enum values the web catalogue maps. In zh-CN none may be on screen as such (case-sensitive
 * whole words: "SSH" or "Linux" are names, `ssh` and `linux` are codes).
 */
function codeWords(): Set<string> {
  const sources = (dir: string): string[] => readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
  const words = new Set<string>([...ERROR_REASONS, ...Object.keys(en.errors.codes)]);
  for (const group of Object.values(en.enums)) for (const k of Object.keys(group)) words.add(k);
  const literal = /'([a-z][a-z0-9_+-]*)'/g;
  for (const file of ['core', 'server/routes', 'gateway'].flatMap(sources)) {
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/'[^'\n]*'(?:\s*\|\s*'[^'\n]*')+/g)) for (const w of m[0].matchAll(literal)) words.add(w[1]!);
    for (const m of src.matchAll(/z\.enum\(\[([^\]]*)\]/g)) for (const w of m[1]!.matchAll(literal)) words.add(w[1]!);
    for (const m of src.matchAll(/\b(?:action|resourceType|risk|method|reason|status|kind|channel|failure|code): '([a-z][a-z0-9_+-]*)'/g)) words.add(m[1]!);
  }
  // One-letter literals (asciicast event types) are not words; `admin` is also the name of the fixture's admin, shown as data.
  for (const w of [...words]) if (w.length < 2) words.delete(w);
  words.delete('admin');
  return words;
}
const CODES = codeWords();

/**
 * English interface text from the en catalogue that zh-CN translates: a line of the page that
 * reads exactly like one of these was left untranslated (a label, a button, a column, a message).
 */
function englishUiLines(): Set<string> {
  const flat = (o: object, prefix = ''): [string, string][] => Object.entries(o).flatMap(([k, v]) => (typeof v === 'string' ? [[prefix + k, v] as [string, string]] : flat(v as object, `${prefix}${k}.`)));
  const zhByKey = new Map(flat(zh));
  const english = flat(en);
  // Names Chinese keeps as they are (SSH, SFTP, Shell, Sudo) are not untranslated, wherever else they occur.
  const kept = new Set(english.filter(([key, value]) => zhByKey.get(key) === value).map(([, value]) => value.trim()));
  const lines = new Set<string>();
  for (const [, value] of english) {
    if (value.includes('{{') || !/[A-Za-z]{3}/.test(value) || !/^[\x20-\x7e]+$/.test(value) || kept.has(value.trim())) continue;
    lines.add(value.trim());
  }
  lines.delete('Administrator'); // also the full name of the built-in admin: data, shown as such
  return lines;
}
const ENGLISH = englishUiLines();

/** The interface text of the page now (dialogs and drawers included), without machine output. */
async function interfaceText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const copy = document.body.cloneNode(true) as HTMLElement;
    // Machine output (terminal, job log, command lines) is data, not interface text.
    copy.querySelectorAll('pre, code, .xterm, .ap-wrapper, .mono, script, style').forEach((e) => e.remove());
    document.body.appendChild(copy);
    copy.style.position = 'absolute';
    const t = copy.innerText;
    copy.remove();
    return t;
  });
}

/** What on the page is not Chinese: raw codes as words, English catalogue text as lines. */
async function untranslated(page: Page, where: string): Promise<string[]> {
  const text = await interfaceText(page);
  const problems: string[] = [];
  const raw = [...new Set(text.split(/[^A-Za-z0-9_+-]+/).filter((w) => CODES.has(w)))];
  if (raw.length) problems.push(`${where}: raw codes on screen: ${raw.join(', ')}`);
  const english = [...new Set(text.split('\n').map((l) => l.trim()).filter((l) => ENGLISH.has(l)))];
  if (english.length) problems.push(`${where}: English on screen: ${english.map((l) => `"${l}"`).join(', ')}`);
  return problems;
}

let b: Bastion;
let browser: Browser;
let s: BrowserSession;
const paths: string[] = [];
/** Every browser context the file opened, for the errors its page logged. */
const opened: BrowserSession[] = [];
const ids = { asset: '', closed: '', live: '' };

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

  // An auditor to watch and replay, and a session still running for the live view.
  await f.user({ username: 'aida', password: 'Audit-pass-2024x', role: 'auditor' });
  // A session still running: /sessions then shows its danger button (Terminate) to axe's contrast check.
  const running = await f.liveSession(['{"version": 2, "width": 80, "height": 24, "timestamp": 1767225600}', '[0.1, "o", "$ "]']);
  Object.assign(ids, { asset: asset.id, closed: live.id, live: running.id });

  paths.push('/dashboard', '/users', '/user-groups', '/assets', `/assets/${asset.id}`, '/system-users', '/admin-users', '/permissions', '/command-filters',
    '/sessions', `/sessions/${live.id}`, `/sessions/${live.id}/play`, '/commands', '/audit/logins', '/audit/operations', '/audit/file-transfers',
    '/my-assets', '/profile', '/jobs', `/jobs/${job.id}`);
  browser = await launchBrowser();
  s = await zhSession('admin', ADMIN_PASSWORD);
});

/** A browser context in zh-CN, logged in as `username` through the login page. */
async function zhSession(username: string, password: string): Promise<BrowserSession> {
  const session = await openPage(browser, b.baseUrl, { locale: 'zh-CN' });
  opened.push(session);
  await session.page.goto('/login');
  await session.page.evaluate(() => localStorage.setItem('bastion.language', 'zh'));
  await session.page.reload();
  await session.page.locator('#login_username').fill(username);
  await session.page.locator('#login_password').fill(password);
  await session.page.locator('form[id=login] button[type=submit]').click();
  await session.page.waitForURL((u) => !u.pathname.startsWith('/login'));
  return session;
}

after(async () => {
  await s?.close().catch(() => undefined);
  await browser?.close();
  await b?.stop();
  await cleanup();
});

/** Opens a page and waits until its heading is drawn and its data has arrived. */
async function visit(page: Page, path: string, ready = 'h1'): Promise<void> {
  await page.goto(path);
  // Generous: the suite shares two cores with everything else.
  await page.locator(ready).first().waitFor({ timeout: 30_000 }).catch(async (e: Error) => { throw new Error(`${path}: ${e.message.split('\n')[0]}\n${await whatThePageShows(page)}`); });
  await page.waitForLoadState('networkidle');
  await page.locator('.ant-spin-spinning').first().waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined);
}

/** Where a page that did not draw is, what it shows and what it logged: for a failure's message. */
async function whatThePageShows(page: Page): Promise<string> {
  const text = await page.locator('body').innerText({ timeout: 2000 }).catch((e: Error) => `(no text: ${e.message.split('\n')[0]})`);
  const errors = opened.find((x) => x.page === page)?.errors ?? [];
  return `at ${page.url()}, showing ${JSON.stringify(text.slice(0, 300))}; page errors: ${JSON.stringify(errors.slice(-5))}`;
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
    problems.push(...await untranslated(page, path));
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

const OPEN_DIALOG = '[role=dialog]:visible';

/**
 * Closes whatever drawer, modal or popover is open, and waits until it is gone: a next click
 * would land on its mask. Escape is pressed again if the overlay is still there (a key pressed
 * while it was still opening is lost under load; see escapeUntilGone).
 */
async function closeOverlays(page: Page): Promise<void> {
  const dialog = page.locator(OPEN_DIALOG).first();
  if (await dialog.isVisible()) await escapeUntilGone(dialog);
  const popover = page.locator('.ant-popover:visible').first();
  for (let attempt = 1; attempt <= 3 && (await popover.isVisible()); attempt++) {
    await page.keyboard.press('Escape');
    await popover.waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => undefined);
  }
}

test('in zh-CN every create and edit dialog, its field errors when submitted empty, and the delete confirmations read in Chinese', async () => {
  const { page } = s;
  const problems: string[] = [];
  let dialogs = 0;
  let confirms = 0;
  for (const path of ['/users', '/user-groups', '/assets', '/system-users', '/admin-users', '/permissions', '/command-filters', '/jobs']) {
    await visit(page, path);
    const create = page.locator('main .ant-btn:not([disabled]):has(.anticon-plus):visible').first();
    if (await create.count()) {
      const dialog = page.locator(OPEN_DIALOG).first();
      await clickUntil(create, dialog).catch(() => problems.push(`${path}: the create button opened no dialog`));
      problems.push(...await untranslated(page, `${path} create dialog`));
      // Submitting it empty shows the required fields' errors, in Chinese.
      const save = dialog.locator('.ant-btn-primary').last();
      if (await save.count()) {
        await save.click();
        await page.locator('.ant-form-item-explain-error').first().waitFor({ timeout: 5_000 }).catch(() => undefined);
        problems.push(...await untranslated(page, `${path} create dialog, submitted empty`));
      }
      dialogs++;
      await closeOverlays(page);
    }
    const edit = page.locator('main .ant-btn:not([disabled]):has(.anticon-edit):visible').first();
    if (await edit.count()) {
      await clickUntil(edit, page.locator(OPEN_DIALOG).first()).catch(() => problems.push(`${path}: the edit button opened no dialog`));
      problems.push(...await untranslated(page, `${path} edit dialog`));
      dialogs++;
      await closeOverlays(page);
    }
    const remove = page.locator('main .ant-btn:not([disabled]):has(.anticon-delete):visible').first();
    if (await remove.count()) {
      await clickUntil(remove, confirmationBox(page).first()).catch(() => problems.push(`${path}: the delete button asked nothing`));
      problems.push(...await untranslated(page, `${path} delete confirmation`));
      confirms++;
      await closeOverlays(page);
    }
  }
  // A refusal by the server lands on its field, worded from its reason: a group name that is taken.
  await visit(page, '/user-groups');
  await page.locator('main .ant-btn:has(.anticon-plus)').first().click();
  await page.locator('#group_name').fill('ops-team');
  await page.locator(OPEN_DIALOG).first().locator('.ant-btn-primary').last().click();
  await page.getByText('已存在名为“ops-team”的用户组。').waitFor();
  problems.push(...await untranslated(page, '/user-groups name taken'));
  await closeOverlays(page);
  assert.deepEqual(problems, []);
  assert.ok(dialogs >= 12 && confirms >= 6, `dialogs opened: ${dialogs}, confirmations: ${confirms}`);
});

test('in zh-CN the auditor\'s views (sessions, detail, live view, playback, command, login and operation logs) and the operator\'s (my assets, file manager, web terminal, profile) read in Chinese, dates included', async () => {
  const problems: string[] = [];
  const auditor = await zhSession('aida', 'Audit-pass-2024x');
  try {
    for (const path of ['/sessions', `/sessions/${ids.closed}`, `/sessions/${ids.live}/watch`, `/sessions/${ids.closed}/play`, '/commands', '/audit/logins', '/audit/operations', '/dashboard']) {
      await visit(auditor.page, path);
      problems.push(...await untranslated(auditor.page, `auditor ${path}`));
    }
    // Dates follow the language: the login log shows 年/月/日, not an ISO or English date.
    await visit(auditor.page, '/audit/logins');
    const list = await interfaceText(auditor.page);
    assert.match(list, /\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}:\d{2}/);
    assert.doesNotMatch(list, /\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4}/);
  } finally {
    await auditor.close();
  }
  const operator = await zhSession('olga', 'Orca-pass-2024x');
  try {
    for (const path of ['/my-assets', '/files/web01', '/terminal/web01', '/profile']) {
      // The web terminal has no heading: its tabs are the page.
      await visit(operator.page, path, path.startsWith('/terminal/') ? 'main' : 'h1');
      problems.push(...await untranslated(operator.page, `operator ${path}`));
    }
    // Two-factor set-up on the profile page: the QR step, then a wrong code refused in Chinese.
    await operator.page.getByRole('button', { name: zh.profile.totpStart }).click();
    await operator.page.locator('[data-testid=totp-secret]').waitFor();
    problems.push(...await untranslated(operator.page, 'operator /profile MFA set-up'));
  } finally {
    await operator.close();
  }
  assert.deepEqual(problems, []);
});

test('in English the same dates read in English', async () => {
  const en = await openPage(browser, b.baseUrl, { locale: 'en-US' });
  opened.push(en);
  try {
    await en.page.goto('/login');
    await en.page.evaluate(() => localStorage.setItem('bastion.language', 'en'));
    await en.page.reload();
    await en.page.locator('#login_username').fill('aida');
    await en.page.locator('#login_password').fill('Audit-pass-2024x');
    await en.page.locator('form[id=login] button[type=submit]').click();
    await en.page.waitForURL((u) => !u.pathname.startsWith('/login'));
    await visit(en.page, '/audit/logins');
    const list = await interfaceText(en.page);
    assert.match(list, /\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4}, \d{2}:\d{2}:\d{2}/);
    assert.doesNotMatch(list, /年/);
  } finally {
    await en.close();
  }
});

test('the login page and a server refusal read in zh-CN, with a title, one <main>, a visible focus and no axe violation', async () => {
  const anon = await openPage(browser, b.baseUrl, { locale: 'zh-CN' });
  opened.push(anon);
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
    const nav = page.getByRole('navigation', { name: 'main' });
    await clickUntil(page.getByRole('button', { name: '打开菜单' }), nav);
    // The menu slides in: a click on an entry still moving can miss it.
    await animationsSettled(nav);
    await screenshot(page, '61-phone-menu');
    await nav.getByText('资产列表', { exact: true }).click();
    await page.waitForURL(/\/assets$/);
    const cell = page.locator('tr.ant-table-row td[data-label]').first();
    await cell.waitFor();
    assert.equal(await page.locator('.ant-table-thead').first().isVisible(), false, 'no header row: each cell is labelled');
    await screenshot(page, '60-phone-assets');
  } finally {
    await page.setViewportSize({ width: 1400, height: 900 });
  }
});
