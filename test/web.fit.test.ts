// Forms, dialogs and phones in real Chromium (issue 15 items 2, 6, 7): every create/edit form is
// one drawer whose title and Save / Cancel stay in a 1440×900 window, with the fields the
// server's create schema requires marked and no other; Save brings the first field in error
// into view; closing any dialog gives focus back to what opened it; at 390×844 row actions are
// one labelled "More" menu and no page of an operator or an auditor is wider than the screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { ensureWebBuild } from '../server/webBuild.ts';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { factories } from './helpers/factories.ts';
import { animationsSettled, chooseFromMenu, clickUntilGone, escapeUntilGone, launchBrowser, logIn, openPage, screenshot, type BrowserSession } from './helpers/browser.ts';
import { startSshd, sshdUnavailable, type Sshd } from './helpers/sshd.ts';
import { cleanup } from './helpers/tmp.ts';
import { loggedIn } from './helpers/api.ts';

const PASSWORD = 'Fit-the-window-2026';

let b: Bastion;
let sshd: Sshd | null = null;
let browser: Browser;
let admin: BrowserSession;
let sessionId = '';
/** The fields each create route requires, from the server's own OpenAPI document (its zod schemas). */
let requiredByRoute: Record<string, string[]> = {};

before(async () => {
  await ensureWebBuild(() => undefined);
  if (!sshdUnavailable()) sshd = await startSshd();
  b = await startBastion();
  const f = factories(b.services);
  const olga = await f.user({ username: 'olga', password: PASSWORD });
  await f.user({ username: 'audrey', password: PASSWORD, role: 'auditor' });
  const web01 = await f.asset({ name: 'web01', address: sshd?.host ?? '127.0.0.1', port: sshd?.port ?? 22 });
  const app = await f.systemUser({ name: 'app', username: sshd?.username ?? 'app', password: sshd?.password ?? 'x-secret-1' });
  await f.permission({ name: 'olga-web', users: [olga.id], assets: [web01.id], systemUsers: [app.id], actions: ['connect', 'upload', 'download'] });
  // More rows than My assets shows flat: the node tree and the label filter appear (as on a real bastion).
  const racks = await f.node({ name: 'rack-r3-long-node-name' });
  const dbs = [];
  for (let i = 1; i <= 11; i++) {
    dbs.push(await b.services.assets.create(SYSTEM_ACTOR, { name: `database-server-${String(i).padStart(2, '0')}.example.internal`, address: '10.20.30.40', port: 22, nodes: [racks.id], labels: ['rack:r3', 'env:production'] }));
  }
  await f.permission({ users: [olga.id], assets: dbs.map((d) => d.id), systemUsers: [app.id], actions: ['connect'] });
  const live = await f.liveSession(['{"version": 2, "width": 80, "height": 24, "timestamp": 1767225600}', '[0.1, "o", "$ uptime\\r\\n up 3 days\\r\\n"]']);
  await b.services.sessions.addCommand(live, { input: 'uptime', output: 'up 3 days', offsetMs: 100, at: new Date() });
  await b.services.sessions.flushCommands();
  await b.services.sessions.end(live.id, { status: 'closed', bytesIn: 10, bytesOut: 40, exitStatus: 0 });
  sessionId = live.id;

  const api = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
  const doc = (await api.get('/openapi.json')).body as { paths: Record<string, { post?: { requestBody?: { content: { 'application/json'?: { schema: { required?: string[] } } } } } }> };
  requiredByRoute = Object.fromEntries(Object.entries(doc.paths).map(([p, ops]) => [p.replace('/api/v1', ''), ops.post?.requestBody?.content['application/json']?.schema.required ?? []]));

  browser = await launchBrowser();
  // With the animations a user sees by default: the drawers and focus return below are their path.
  admin = await openPage(browser, b.baseUrl, { motion: 'full' });
  await admin.page.setViewportSize({ width: 1440, height: 900 });
  await logIn(admin.page, 'admin', ADMIN_PASSWORD);
});

after(async () => {
  await admin?.close().catch(() => undefined);
  await browser?.close();
  await b?.stop();
  await sshd?.stop();
  await cleanup();
});

async function visit(page: Page, path: string): Promise<void> {
  await page.goto(path);
  await page.locator('h1').first().waitFor({ timeout: 30_000 });
  await page.waitForLoadState('networkidle');
  await page.locator('.ant-spin-spinning').first().waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined);
}

const drawer = (page: Page) => page.locator('.form-drawer .ant-drawer-section');

/** [page, button that opens the form, the form's name, the create route]. */
const FORMS: [string, string, string, string][] = [
  ['/users', 'New user', 'user', '/users'],
  ['/user-groups', 'New group', 'group', '/user-groups'],
  ['/assets', 'New asset', 'asset', '/assets'],
  ['/system-users', 'New system user', 'account', '/system-users'],
  ['/admin-users', 'New admin user', 'account', '/admin-users'],
  ['/permissions', 'New permission', 'permission', '/permissions'],
  ['/command-filters', 'New command filter', 'command-filter', '/command-filters'],
  ['/jobs', 'Save a command', 'saved-command', '/saved-commands'],
];

test('every create form is a drawer whose title and Save stay in a 1440×900 window, marking required exactly what the server requires', async () => {
  const { page } = admin;
  const problems: string[] = [];
  for (const [path, opener, form, route] of FORMS) {
    await visit(page, path);
    await page.getByRole('button', { name: opener }).click();
    const d = drawer(page);
    await d.locator(`form#${form}`).waitFor();
    await page.waitForTimeout(400); // the drawer's slide-in
    // Scrolled to its end, the form still shows its title at the top and its buttons at the bottom.
    await d.locator('.ant-drawer-body').evaluate((el) => { el.scrollTop = el.scrollHeight; });
    const title = await d.locator('.ant-drawer-title').boundingBox();
    const save = await d.getByRole('button', { name: 'Save' }).boundingBox();
    if (!title || title.y < 0 || title.y > 80) problems.push(`${form}: title at ${title?.y}`);
    if (!save || save.y + save.height > 900 || save.y < 0) problems.push(`${form}: Save at ${save?.y}`);
    const marked = await d.locator(`form#${form} label.ant-form-item-required`).evaluateAll((ls, f) => ls.map((l) => (l as HTMLLabelElement).htmlFor.replace(`${f}_`, '')).sort(), form);
    const required = [...(requiredByRoute[route] ?? [])].sort();
    if (JSON.stringify(marked) !== JSON.stringify(required)) problems.push(`${form}: marked ${marked.join(',')} but the server requires ${required.join(',')}`);
    if (form === 'permission') {
      // Save on an empty form brings the first field in error (the name, at the top) back into view.
      await d.getByRole('button', { name: 'Save' }).click();
      await d.getByText('Name is required').waitFor();
      const body = (await d.locator('.ant-drawer-body').boundingBox())!;
      const field = (await d.locator(`#${form}_name`).boundingBox())!;
      if (field.y < body.y || field.y + field.height > body.y + body.height) problems.push(`${form}: the first field in error is not in view (${field.y} in ${body.y}..${body.y + body.height})`);
      await screenshot(page, '80-permission-drawer');
    }
    await clickUntilGone(d.getByRole('button', { name: 'Cancel' }), d);
  }
  // The command runner is a card on /jobs, not a drawer; its marks follow POST /jobs (whose kind it sets itself).
  await visit(page, '/jobs');
  const runner = await page.locator('form#command-runner label.ant-form-item-required').evaluateAll((ls) => ls.map((l) => (l as HTMLLabelElement).htmlFor.replace('command-runner_', '')).sort());
  assert.deepEqual(runner, (requiredByRoute['/jobs'] ?? []).filter((f) => f !== 'kind').sort());
  assert.deepEqual(problems, []);
  assert.deepEqual(admin.errors.filter((e) => !/Failed to load resource/.test(e)), []);
});

/** The accessible name (or text) of the focused element. */
const focused = (page: Page) => page.evaluate(() => {
  const el = document.activeElement as HTMLElement | null;
  return el ? (el.getAttribute('aria-label') ?? el.innerText.trim()) : null;
});

test('closing a dialog with Escape, Cancel or Save gives focus back to the button that opened it', async () => {
  const { page } = admin;
  await visit(page, '/users');
  // Keyboard: Enter on "New user", Escape closes.
  await page.getByRole('button', { name: 'New user' }).focus();
  await page.keyboard.press('Enter');
  await drawer(page).locator('form#user').waitFor();
  await escapeUntilGone(drawer(page));
  assert.equal(await focused(page), 'New user');

  // Edit by keyboard, closed by Save.
  await page.getByRole('button', { name: 'Edit olga', exact: true }).focus();
  await page.keyboard.press('Enter');
  await drawer(page).getByLabel('Full name').fill('Olga Petrova');
  await drawer(page).getByRole('button', { name: 'Save' }).click();
  await drawer(page).waitFor({ state: 'detached' });
  await page.locator('.ant-table-row').filter({ hasText: 'Olga Petrova' }).waitFor();
  assert.equal(await focused(page), 'Edit olga');

  // A drawer opened from a menu item: the item is gone when it closes, focus goes to the menu's button.
  const actions = page.getByRole('button', { name: 'Actions olga', exact: true });
  await actions.focus();
  await page.keyboard.press('Enter');
  await page.getByRole('menuitem', { name: 'SSH keys' }).waitFor();
  await chooseFromMenu(actions, 'SSH keys', page.locator('.ant-drawer-title').filter({ hasText: 'SSH keys' }));
  // A keyboard user presses Escape once the menu has gone (while it fades out, Escape is still the menu's).
  await page.locator('.ant-dropdown:not(.ant-dropdown-hidden)').waitFor({ state: 'detached' });
  await escapeUntilGone(page.locator('.ant-drawer-title').filter({ hasText: 'SSH keys' }));
  assert.equal(await focused(page), 'Actions olga');

  // A confirmation (Popconfirm) closed with Cancel.
  await page.getByRole('button', { name: 'Delete olga', exact: true }).focus();
  await page.keyboard.press('Enter');
  await clickUntilGone(page.locator('.ant-popconfirm').getByRole('button', { name: 'Cancel' }), page.locator('.ant-popconfirm'), 'hidden');
  assert.equal(await focused(page), 'Delete olga');
});

/**
 * The longest animation or transition of the drawer's panel or mask while the drawer opens from
 * `opener`, in ms (0: none), read from the computed style of each that starts one. Inputs and
 * buttons have transitions of their own (focus, hover) whatever the setting: not counted.
 */
async function drawerMotionOpening(page: Page, opener: string, expectSome: boolean): Promise<number> {
  // No named functions in the page: tsx wraps them in a helper the page does not have.
  await page.evaluate(() => {
    (window as unknown as { drawerMotionMs: number }).drawerMotionMs = 0;
    for (const [event, property] of [['transitionrun', 'transitionDuration'], ['animationstart', 'animationDuration']] as const) {
      document.addEventListener(event, (e) => {
        const el = e.target as Element;
        if (!el.matches('.ant-drawer-content-wrapper, .ant-drawer-mask')) return;
        const durations = getComputedStyle(el)[property].split(',').map((t) => parseFloat(t) * (t.trim().endsWith('ms') ? 1 : 1000));
        const seen = window as unknown as { drawerMotionMs: number };
        seen.drawerMotionMs = Math.max(seen.drawerMotionMs, ...durations);
      }, true);
    }
  });
  await page.getByRole('button', { name: opener }).click();
  const d = drawer(page);
  await d.locator('form#user').waitFor();
  if (expectSome) await page.waitForFunction(() => (window as unknown as { drawerMotionMs: number }).drawerMotionMs > 0);
  // Without motion nothing is awaited: a slide-in would have begun within these frames.
  else await page.waitForTimeout(500);
  await animationsSettled(d);
  const longest = await page.evaluate(() => (window as unknown as { drawerMotionMs: number }).drawerMotionMs);
  await clickUntilGone(d.getByRole('button', { name: 'Cancel' }), d);
  return longest;
}

test('a user whose system asks for less motion gets drawers at once; other users keep the slide-in', async () => {
  const calm = await openPage(browser, b.baseUrl, { motion: 'reduced' });
  try {
    await logIn(calm.page, 'admin', ADMIN_PASSWORD);
    await visit(calm.page, '/users');
    assert.equal(await drawerMotionOpening(calm.page, 'New user', false), 0);
    await visit(admin.page, '/users');
    assert.ok(await drawerMotionOpening(admin.page, 'New user', true) >= 200, 'the drawer slides in for everyone else');
  } finally {
    await calm.close();
  }
});

/** What sticks out of a 390 px wide page, or null. */
const overflow = (page: Page) => page.evaluate(() => {
  const w = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= w) return null;
  const culprits = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > w + 1)
    .slice(0, 3).map((e) => `${e.tagName.toLowerCase()}.${String((e as HTMLElement).className).split(' ')[0]}`);
  return `${document.documentElement.scrollWidth}px > ${w}px (${culprits.join(', ')})`;
});

test('at 390×844 a row\'s actions are one labelled More menu, and no operator or auditor page is wider than the screen', async () => {
  const phone = async (username: string, password: string) => {
    const s = await openPage(browser, b.baseUrl);
    await s.page.setViewportSize({ width: 390, height: 844 });
    await logIn(s.page, username, password);
    return s;
  };
  const wide: string[] = [];
  const a = await phone('admin', ADMIN_PASSWORD);
  try {
    const { page } = a;
    await visit(page, '/users');
    const card = page.locator('.ant-table-row').filter({ hasText: 'olga' });
    assert.equal(await card.getByRole('button', { name: 'Edit olga' }).count(), 0, 'no row of buttons on a card');
    const more = card.getByRole('button', { name: 'More actions for olga' });
    assert.equal((await more.innerText()).trim(), 'More');
    const confirm = page.locator('.ant-modal-confirm');
    await chooseFromMenu(more, 'Delete', confirm.locator('.ant-modal-confirm-title').filter({ hasText: 'Delete “olga”?' }));
    await clickUntilGone(confirm.getByRole('button', { name: 'Cancel' }), confirm);
    assert.equal(await focused(page), 'More actions for olga');
    await screenshot(page, '81-phone-users-more');
    // A drawer is never wider than the phone (antd caps it at 100vw; this keeps it so).
    const keys = page.locator('.ant-drawer-content-wrapper').filter({ hasText: 'SSH keys' });
    await chooseFromMenu(more, 'SSH keys', keys);
    await animationsSettled(keys); // the slide-in
    const box = (await keys.boundingBox())!;
    assert.ok(box.x >= 0 && box.x + box.width <= 391, `the drawer spans ${box.x}..${box.x + box.width}`);
    await escapeUntilGone(keys, 'hidden');
    for (const path of ['/users', '/assets', '/permissions', '/system-users']) {
      await visit(page, path);
      const o = await overflow(page);
      if (o) wide.push(`admin ${path}: ${o}`);
    }
  } finally {
    await a.close();
  }
  const operator = await phone('olga', PASSWORD);
  try {
    const { page } = operator;
    const paths = ['/my-assets', '/profile', '/jobs', ...(sshd ? ['/files/web01?systemUser=app&path=/etc'] : [])];
    for (const path of paths) {
      await visit(page, path);
      if (path.startsWith('/files')) {
        // A file's actions (download, rename, delete) are one More menu on a card too.
        const file = page.locator('.ant-table-row').first();
        await file.waitFor();
        assert.equal(await file.getByRole('button', { name: /^More actions for / }).count(), 1);
        assert.equal(await file.getByRole('button', { name: /^Delete / }).count(), 0);
      }
      const o = await overflow(page);
      if (o) wide.push(`operator ${path}: ${o}`);
      await screenshot(page, `82-phone-operator-${path.split(/[/?]/)[1]}`);
    }
  } finally {
    await operator.close();
  }
  const auditor = await phone('audrey', PASSWORD);
  try {
    const { page } = auditor;
    for (const path of ['/sessions?tab=history', `/sessions/${sessionId}`, `/sessions/${sessionId}/play`, '/commands', '/audit/logins', '/audit/file-transfers']) {
      await visit(page, path);
      const o = await overflow(page);
      if (o) wide.push(`auditor ${path}: ${o}`);
      await screenshot(page, `83-phone-auditor-${path.replace(/\W+/g, '-').slice(1, 30)}`);
    }
  } finally {
    await auditor.close();
  }
  assert.deepEqual(wide, []);
});
