// Audit in the browser: playback with the command list, the command log linking into
// playback, live view over the real gateway and terminate, command filters and held
// commands, file transfers with CSV export. Real Chromium, real gateway, real sshd.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ensureWebBuild } from '../server/webBuild.ts';
import { newId } from '../core/ids.ts';
import type { Session, User } from '../core/db/entities/index.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { factories } from './helpers/factories.ts';
import { startSshd, sshdUnavailable, type Sshd } from './helpers/sshd.ts';
import { confirmWith, launchBrowser, logIn, openPage, pick, screenshot, type BrowserSession } from './helpers/browser.ts';
import { eventually, openShell, ssh2Login, type Screen } from './gatewayFixture.ts';
import { cleanup } from './helpers/tmp.ts';
import { recordingsDir } from './helpers/recordings.ts';

const AUDITOR = { username: 'aurelia', password: 'Night-owl-4821' };
const OPERATOR = { username: 'olivia', password: 'Sea-shell-9753' };
const menuName = (text: string) => new RegExp(`^(\\S+ )?${text}$`);

let b: Bastion;
let browser: Browser;
let auditor: BrowserSession;
let admin: BrowserSession;
let adminApi: ApiClient;
let sshd: Sshd | null = null;
let operator: User;
let recorded: Session;
const f = () => factories(b.services);

/** A recorded, ended session whose screen says MARKER-ONE/TWO/THREE after its three commands. */
async function recordedSession(): Promise<Session> {
  const oscar = await f().user({ username: 'oscar', password: 'Blue-whale-1234' });
  const asset = await f().asset({ name: 'web07', address: '10.0.0.7' });
  const s = await b.services.sessions.start({ userId: oscar.id, username: 'oscar', assetId: asset.id, assetName: 'web07', systemUserId: null, systemUsername: 'deploy', kind: 'shell', clientAddress: '192.0.2.10' });
  const d = s.startedAt;
  const rel = `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}/${s.id}.cast`;
  const file = path.join(recordingsDir(b.services), rel);
  mkdirSync(path.dirname(file), { recursive: true });
  const ev = (t: number, data: string) => JSON.stringify([t, 'o', data]);
  writeFileSync(file, [
    JSON.stringify({ version: 2, width: 100, height: 30, timestamp: Math.floor(d.getTime() / 1000) }),
    ev(0.5, 'deploy@web07:~$ '),
    ev(1.0, 'ls -la\r\n'), ev(1.2, 'MARKER-ONE\r\ndeploy@web07:~$ '),
    ev(30.0, 'df -h\r\n'), ev(30.2, 'MARKER-TWO\r\ndeploy@web07:~$ '),
    ev(60.0, 'whoami\r\n'), ev(60.2, 'MARKER-THREE\r\ndeploy@web07:~$ '),
    ev(65.0, 'exit\r\n'),
  ].join('\n') + '\n');
  await b.services.sessions.setRecording(s.id, rel);
  for (const [input, offsetMs] of [['ls -la', 1200], ['df -h', 30200], ['whoami', 60200]] as const) {
    await b.services.sessions.addCommand(s, { input, output: '', offsetMs, at: new Date(d.getTime() + offsetMs) });
  }
  await b.services.sessions.flushCommands();
  await b.services.sessions.end(s.id, { status: 'closed', bytesIn: 40, bytesOut: 400, exitStatus: 0 });
  return s;
}

before(async () => {
  await ensureWebBuild(() => undefined);
  b = await startBastion({ gateway: true });
  await f().user({ ...AUDITOR, role: 'auditor' });
  operator = await f().user(OPERATOR);
  recorded = await recordedSession();
  adminApi = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
  if (!sshdUnavailable()) {
    sshd = await startSshd();
    const live01 = await f().asset({ name: 'live01', address: sshd.host, port: sshd.port });
    const su = await f().systemUser({ name: 'live-account', username: sshd.username, password: sshd.password });
    await f().permission({ users: [operator.id], assets: [live01.id], systemUsers: [su.id] });
  }
  browser = await launchBrowser();
  auditor = await openPage(browser, b.baseUrl);
  admin = await openPage(browser, b.baseUrl);
  await logIn(auditor.page, AUDITOR.username, AUDITOR.password);
  await logIn(admin.page, 'admin', ADMIN_PASSWORD);
});

after(async () => {
  await auditor?.close();
  await admin?.close();
  await browser?.close();
  await b?.stop();
  await sshd?.stop();
  await cleanup();
});

const player = (page: Page) => page.getByTestId('session-player');
const playerText = (page: Page) => player(page).locator('.ap-term-text');
async function playerTime(page: Page): Promise<number> {
  return Number(await player(page).getAttribute('data-time'));
}

test("the server's CSP lets asciinema-player compile its WebAssembly terminal", async () => {
  // The browser enforces the server's real CSP (no bypass anywhere in this suite): the player's
  // WebAssembly terminal must compile and draw the recording, with no CSP violation reported.
  const csp = (await fetch(b.baseUrl + `/sessions/${recorded.id}/play`)).headers.get('content-security-policy') ?? '';
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
  const s = await openPage(browser, b.baseUrl);
  try {
    await logIn(s.page, AUDITOR.username, AUDITOR.password);
    await s.page.goto(`/sessions/${recorded.id}/play?t=61`);
    await player(s.page).and(s.page.locator('[data-state=ready]')).waitFor();
    await eventually(() => playerText(s.page).innerText(), (x) => x.includes('MARKER-THREE'), 5000);
    assert.match(await playerText(s.page).innerText(), /MARKER-THREE/);
    assert.equal(await s.page.getByText('forbids WebAssembly').count(), 0);
    assert.deepEqual(s.errors.filter((e) => /Content.Security.Policy|WebAssembly|wasm/i.test(e)), []);
  } finally {
    await s.close();
  }
});

test('an auditor finds a session, opens the player, and a click on a command seeks to it', async () => {
  const page = auditor.page;
  await page.getByRole('navigation', { name: 'main' }).getByRole('menuitem', { name: menuName('Sessions') }).click();
  await page.getByRole('tab', { name: 'History' }).click();
  const panel = page.getByRole('tabpanel', { name: 'History' });
  const row = panel.locator('.ant-table-row').filter({ hasText: 'web07' });
  await row.getByRole('link', { name: /Play/ }).click();
  await page.waitForURL(new RegExp(`/sessions/${recorded.id}/play`));
  await page.locator('[data-testid=session-player][data-state=ready]').waitFor();
  const commands = page.getByRole('list', { name: 'Commands' });
  await commands.getByRole('button', { name: /df -h/ }).click();
  await eventually(() => playerTime(page), (t) => Math.abs(t - 30.2) < 0.5, 5000);
  assert.ok(Math.abs((await playerTime(page)) - 30.2) < 0.5, `player at ${await playerTime(page)} s`);
  await eventually(() => playerText(page).innerText(), (s) => s.includes('MARKER-TWO'), 5000);
  assert.match(await playerText(page).innerText(), /MARKER-TWO/);
  assert.doesNotMatch(await playerText(page).innerText(), /MARKER-THREE/);
  await screenshot(page, '40-playback');
  // Backwards: the screen goes back to before `df -h`.
  await commands.getByRole('button', { name: /ls -la/ }).click();
  await eventually(() => playerText(page).innerText(), (s) => !s.includes('MARKER-TWO'), 5000);
  assert.match(await playerText(page).innerText(), /MARKER-ONE/);
  assert.doesNotMatch(await playerText(page).innerText(), /MARKER-TWO/);
  assert.equal(await commands.getByRole('button', { name: /ls -la/ }).getAttribute('aria-current'), 'true');
});

test('a playback link opened while logged out goes to the login, then straight to a working player', async () => {
  // The app starts the page's requests before it knows who is logged in: they fail with 401
  // here, and must neither stick in the cache nor break the page after the login.
  const s = await openPage(browser, b.baseUrl);
  try {
    const { page } = s;
    await page.goto(`/sessions/${recorded.id}/play?t=31`);
    await page.waitForURL(/\/login\?next=/);
    await page.getByLabel('Username').fill(AUDITOR.username);
    await page.getByLabel('Password').fill(AUDITOR.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(new RegExp(`/sessions/${recorded.id}/play\\?t=31`));
    await player(page).and(page.locator('[data-state=ready]')).waitFor();
    await eventually(() => playerText(page).innerText(), (x) => x.includes('MARKER-TWO'), 5000);
    assert.match(await playerText(page).innerText(), /MARKER-TWO/);
    assert.equal(await page.getByRole('list', { name: 'Commands' }).getByRole('button').count(), 3);
    assert.deepEqual(s.errors.filter((e) => !/Failed to load resource/.test(e)), []);
  } finally {
    await s.close();
  }
});

test('a large recording plays in segments: command clicks seek across segments, forwards and back, with idle time skipped too', async () => {
  // Three commands a few minutes apart, each followed by ~700 KiB of output: several segments.
  const oscar = await f().user({ username: 'oskar', password: 'Red-maple-2468' });
  const asset = await f().asset({ name: 'web09', address: '10.0.0.9' });
  const s = await b.services.sessions.start({ userId: oscar.id, username: 'oskar', assetId: asset.id, assetName: 'web09', systemUserId: null, systemUsername: 'deploy', kind: 'shell', clientAddress: '192.0.2.11' });
  const rel = `2026/01/02/${s.id}.cast`;
  const file = path.join(recordingsDir(b.services), rel);
  mkdirSync(path.dirname(file), { recursive: true });
  const lines = [JSON.stringify({ version: 2, width: 100, height: 30, timestamp: 1767261600 })];
  const cmds: [string, number][] = [];
  let ms = 1000;
  const at = (data: string) => lines.push(JSON.stringify([ms / 1000, 'o', data]));
  for (const n of [1, 2, 3]) {
    at('deploy@web09:~$ ');
    ms += 500;
    cmds.push([`cat big-${n}.log`, ms]);
    at(`cat big-${n}.log\r\nBIGMARK-${n}\r\n`);
    for (let k = 0; k < 11; k++) {
      ms += 15;
      at(`\x1b[3${k % 8}m${`log ${n}.${k} `.padEnd(60, '-')}\x1b[0m\r\n`.repeat(1000));
    }
    ms += 500;
    at(`DONE-${n}\r\n`);
    ms += 180_000;
  }
  writeFileSync(file, lines.join('\n') + '\n');
  await b.services.sessions.setRecording(s.id, rel);
  for (const [input, offsetMs] of cmds) await b.services.sessions.addCommand(s, { input, output: '', offsetMs, at: new Date(s.startedAt.getTime() + offsetMs) });
  await b.services.sessions.flushCommands();
  await b.services.sessions.end(s.id, { status: 'closed', bytesIn: 10, bytesOut: 2_000_000, exitStatus: 0 });
  const index = await adminApi.get(`/sessions/${s.id}/recording/index`);
  assert.ok(index.body.segments.length >= 3, `${index.body.segments.length} segments`);

  const page = auditor.page;
  await page.goto(`/sessions/${s.id}/play`);
  await player(page).and(page.locator('[data-state=ready]')).waitFor();
  const commands = page.getByRole('list', { name: 'Commands' });
  const seekShows = async (n: number, seconds: number) => {
    await commands.getByRole('button', { name: new RegExp(`big-${n}`) }).click();
    await eventually(() => playerText(page).innerText(), (x) => x.includes(`BIGMARK-${n}`), 5000);
    assert.match(await playerText(page).innerText(), new RegExp(`cat big-${n}.log`));
    for (const other of [1, 2, 3].filter((o) => o !== n)) assert.doesNotMatch(await playerText(page).innerText(), new RegExp(`BIGMARK-${other}`));
    await eventually(() => playerTime(page), (x) => Math.abs(x - seconds) < 0.5, 5000);
  };
  await seekShows(3, cmds[2]![1] / 1000);
  await seekShows(1, cmds[0]![1] / 1000);
  await seekShows(2, cmds[1]![1] / 1000);
  // Skipping idle time: the server shortens the pauses; a click still lands on the command.
  await pick(page.locator('body'), 'Skip idle time', 'Longer than 2 s');
  await player(page).and(page.locator('[data-state=ready]')).waitFor();
  await seekShows(3, cmds[2]![1] / 1000 - 2 * (180 - 2));
  await seekShows(1, cmds[0]![1] / 1000);
});

test('the command log finds a command by text and links to its moment in the playback', async () => {
  const page = auditor.page;
  await page.getByRole('navigation', { name: 'main' }).getByRole('menuitem', { name: menuName('Command log') }).click();
  await page.getByRole('heading', { name: 'Command log' }).waitFor();
  const search = page.getByRole('searchbox', { name: 'Search commands' });
  await search.fill('whoami');
  await search.press('Enter');
  await page.locator('.ant-table-row').filter({ hasText: 'df -h' }).waitFor({ state: 'detached' });
  const row = page.locator('.ant-table-row').filter({ hasText: 'whoami' });
  await row.waitFor();
  assert.equal(await page.locator('.ant-table-row').count(), 1);
  await screenshot(page, '41-command-log');
  await row.getByRole('link', { name: /Play at whoami/ }).click();
  await page.waitForURL(/\/play\?t=60\.2/);
  await page.locator('[data-testid=session-player][data-state=ready]').waitFor();
  await eventually(() => playerText(page).innerText(), (s) => s.includes('MARKER-THREE'), 5000);
  assert.ok(Math.abs((await playerTime(page)) - 60.2) < 0.5, `player at ${await playerTime(page)} s`);
  assert.match(await playerText(page).innerText(), /MARKER-THREE/);
});

test('live view (bus-fed): the current screen, live output, and "session ended"', async () => {
  const page = auditor.page;
  const u = await f().user();
  const a = await f().asset({ name: 'bus01' });
  const s = await b.services.sessions.start({ userId: u.id, username: u.username, assetId: a.id, assetName: 'bus01', systemUserId: null, systemUsername: 'deploy', kind: 'shell', clientAddress: '127.0.0.1' });
  try {
    await page.goto(`/sessions/${s.id}/watch`);
    await page.locator('[data-testid=live-status][data-state=live]').waitFor();
    const marker = `bus-${newId().slice(0, 8)}-marker`;
    b.services.bus.publish('session.stream', { sessionId: s.id, kind: 'o', data: `${marker}\r\n`, t: 1, seq: 1 });
    await page.getByTestId('live-terminal').getByText(marker).waitFor({ timeout: 5000 });
    b.services.bus.publish('session.ended', { sessionId: s.id });
    await page.getByText('The session has ended.').waitFor({ timeout: 5000 });
  } finally {
    await b.services.sessions.end(s.id, { status: 'closed', bytesIn: 0, bytesOut: 0 });
  }
});

describe('live view through the real gateway', { skip: sshdUnavailable() }, () => {
  let client: Awaited<ReturnType<typeof ssh2Login>>;
  let screen: Screen;
  let sessionId: string;

  before(async () => {
    client = await ssh2Login(b.sshPort, { username: `${OPERATOR.username}@live01`, password: OPERATOR.password });
    screen = await openShell(client, { rows: 24, cols: 100 });
    await screen.waitFor(/\$ $/m);
    const list = await eventually(() => adminApi.get(`/sessions?active=true&user=${OPERATOR.username}`), (r) => r.body.items?.length === 1);
    sessionId = list.body.items[0].id;
  });
  after(() => client?.end());

  test('Watch shows what the operator types within seconds', async () => {
    const page = auditor.page;
    await page.goto('/sessions');
    const row = page.getByRole('tabpanel', { name: 'Online' }).locator('.ant-table-row').filter({ hasText: 'live01' });
    await row.getByRole('button', { name: 'Watch' }).click();
    await page.waitForURL(new RegExp(`/sessions/${sessionId}/watch`));
    await page.locator('[data-testid=live-status][data-state=live]').waitFor();
    const from = screen.text.length;
    screen.stream.write('echo live-$RANDOM-marker\r');
    const echoed = await screen.waitFor(/live-\d+-marker/, from);
    const marker = /live-\d+-marker/.exec(echoed)![0];
    const t0 = Date.now();
    await page.getByTestId('live-terminal').getByText(marker).first().waitFor({ timeout: 5000 });
    assert.ok(Date.now() - t0 < 5000);
    await screenshot(page, '42-live-view');
  });

  test('Terminate from the live view ends the operator\'s session', async () => {
    const page = auditor.page;
    if (!page.url().includes(`/sessions/${sessionId}/watch`)) {
      await page.goto(`/sessions/${sessionId}/watch`);
      await page.locator('[data-testid=live-status][data-state=live]').waitFor();
    }
    await confirmWith(page.getByRole('button', { name: 'Terminate' }), 'Terminate');
    await screen.whenClosed(5000);
    await page.getByText('The session has ended.').waitFor({ timeout: 5000 });
    const row = await eventually(() => adminApi.get(`/sessions/${sessionId}`), (r) => r.body.status !== 'active');
    assert.equal(row.body.terminatedBy, AUDITOR.username);
  });
});

test('an admin creates a command filter through the form, tries a command, and decides a held one', async () => {
  const page = admin.page;
  await page.getByRole('navigation', { name: 'main' }).getByRole('menuitem', { name: menuName('Command filters') }).click();
  // The page says plainly what filters cannot do.
  await page.getByRole('alert').filter({ hasText: 'A guard rail, not a sandbox' }).filter({ hasText: 'an operator with a shell can always run a program' }).waitFor();
  await page.getByRole('button', { name: 'New command filter' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name').fill('no-reboot');
  await dialog.getByLabel('Pattern', { exact: true }).fill('reboot\nshutdown');
  await dialog.getByLabel('Priority').fill('10');
  await pick(dialog, 'Users', OPERATOR.username);
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.locator('.ant-table-row').filter({ hasText: 'no-reboot' }).waitFor();
  const found = (await adminApi.get('/command-filters?search=no-reboot')).body.items;
  assert.equal(found.length, 1);
  assert.equal(found[0].kind, 'commands');
  assert.equal(found[0].action, 'deny');
  assert.equal(found[0].priority, 10);
  assert.deepEqual(found[0].users, [{ id: operator.id, name: operator.username }]);

  // Try it: the verdict names the filter.
  const tryCard = page.locator('.ant-card').filter({ hasText: 'Try a command' });
  await pick(tryCard, 'User', OPERATOR.username);
  await pick(tryCard, 'Asset', 'web07 (10.0.0.7)');
  await tryCard.getByLabel('Command').fill('sudo /sbin/reboot now');
  await tryCard.getByRole('button', { name: 'Check' }).click();
  await page.getByTestId('filter-verdict').filter({ hasText: 'Deny' }).filter({ hasText: 'no-reboot' }).waitFor();

  // A held command appears within a poll, with the bell's count; approving it sends the decision.
  const decided = new Promise<{ approved: boolean; by: string | null }>((resolve) => {
    const off = b.services.bus.subscribe('command.decided', (m) => { off(); resolve(m); });
  });
  // Held as the gateway holds one: through the service, which writes the claim row a decision needs.
  void b.services.confirmations.request({ sessionId: recorded.id, jobId: null, userId: operator.id, username: OPERATOR.username, assetName: 'web07', systemUsername: 'deploy', command: 'systemctl restart nginx', filter: 'confirm-restarts' }, 60_000);
  const held = page.locator('#confirmations .ant-table-row').filter({ hasText: 'systemctl restart nginx' });
  await held.waitFor({ timeout: 5000 });
  await page.getByRole('button', { name: 'Commands waiting for approval: 1' }).waitFor();
  await screenshot(page, '43-command-filters');
  await held.getByRole('button', { name: 'Approve' }).click();
  assert.deepEqual(await decided, { requestId: (await decided as { requestId?: string }).requestId, approved: true, by: 'admin' });
  await held.waitFor({ state: 'detached' });

  // The admin's own held command: the buttons are off and the row says another admin decides.
  const adminId = (await adminApi.get('/me')).body.id as string;
  const ownWithdrawn = new AbortController();
  const own = b.services.confirmations.request({ sessionId: recorded.id, jobId: null, userId: adminId, username: 'admin', assetName: 'web07', systemUsername: 'deploy', command: 'systemctl restart haproxy', filter: 'confirm-restarts' }, 60_000, ownWithdrawn.signal);
  const mine = page.locator('#confirmations .ant-table-row').filter({ hasText: 'systemctl restart haproxy' });
  await mine.getByTestId('confirmation-own').filter({ hasText: 'yours: another administrator decides' }).waitFor({ timeout: 5000 });
  assert.deepEqual([await mine.getByRole('button', { name: 'Approve' }).isDisabled(), await mine.getByRole('button', { name: 'Reject' }).isDisabled()], [true, true]);
  ownWithdrawn.abort();
  assert.deepEqual(await own, { approved: false, by: null, timedOut: true });
});

test('file transfers are listed with filters, and every log exports the filtered rows as CSV', async () => {
  const page = auditor.page;
  await b.services.fileTransfers.record(recorded, { operation: 'upload', path: '/tmp/report.pdf', size: 2048, ok: false, message: 'upload not permitted' });
  await b.services.fileTransfers.record(recorded, { operation: 'download', path: '/etc/hosts', size: 180, ok: true });
  await page.getByRole('navigation', { name: 'main' }).getByRole('menuitem', { name: menuName('File transfers') }).click();
  await page.locator('.ant-table-row').filter({ hasText: '/tmp/report.pdf' }).waitFor();
  await pick(page.locator('body'), 'Result', 'Refused');
  await page.locator('.ant-table-row').filter({ hasText: '/etc/hosts' }).waitFor({ state: 'detached' });
  await screenshot(page, '44-file-transfers');
  const href = await page.getByTestId('csv-export').getAttribute('href');
  assert.ok(href?.includes('format=csv') && href.includes('ok=false'), href ?? '');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('csv-export').click()]);
  const csv = readFileSync((await download.path())!, 'utf8');
  assert.match(csv, /\/tmp\/report\.pdf/);
  assert.doesNotMatch(csv, /\/etc\/hosts/);

  for (const [menu, expect] of [['Login log', 'login-log'], ['Operation log', 'operation-log']] as const) {
    await page.getByRole('navigation', { name: 'main' }).getByRole('menuitem', { name: menuName(menu) }).click();
    await page.getByRole('heading', { name: menu }).waitFor();
    const res = await page.request.get((await page.getByTestId('csv-export').getAttribute('href'))!);
    assert.equal(res.status(), 200, menu);
    assert.match(res.headers()['content-type'] ?? '', /text\/csv/);
    assert.match(res.headers()['content-disposition'] ?? '', new RegExp(expect));
  }
});

test('the dashboard shows the disk use of recordings', async () => {
  const page = auditor.page;
  await page.getByRole('navigation', { name: 'main' }).getByRole('menuitem', { name: menuName('Dashboard') }).click();
  const card = page.getByTestId('recordings-usage');
  await card.getByText(/\d+(\.\d)? (B|KiB|MiB)/).waitFor();
  await card.getByText(/[1-9]\d* files?/).waitFor();
  assert.deepEqual(auditor.errors.filter((e) => !/Failed to load resource|WebSocket/.test(e)), []);
});
