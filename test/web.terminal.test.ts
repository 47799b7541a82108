// The web terminal in real Chromium: an operator connects from the browser (the deep link
// /terminal/<asset>), types, sees the output, pastes several lines only after confirming, opens a
// second terminal in a tab, and reads why the session ended when an admin terminates it; an
// operator without a grant is refused by the websocket and offered no Connect button; an admin
// with a grant finds Connect on the asset page. The session is the pipeline's: channel 'web'.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { ensureWebBuild } from '../server/webBuild.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup } from './helpers/tmp.ts';
import { loggedIn, type ApiClient } from './helpers/api.ts';
import { ADMIN_PASSWORD } from './helpers/bastion.ts';
import { clickUntilGone, launchBrowser, logIn, openPage, screenshot } from './helpers/browser.ts';
import { eventually, startWorld, type World, ALICE_PASSWORD } from './gatewayFixture.ts';

const ACTIVE = '[data-testid="web-terminal"][data-active="true"]';

/** What the page's active terminal shows (its buffer, whatever the renderer). */
function screen(page: Page): Promise<string> {
  return page.locator(ACTIVE).evaluate((el) => (el as HTMLElement & { terminalText(): string }).terminalText());
}

async function shows(page: Page, pattern: RegExp): Promise<string> {
  const text = await eventually(() => screen(page), (t) => pattern.test(t), 15_000);
  assert.match(text, pattern);
  return text;
}

describe('web terminal in the browser', { skip: sshdUnavailable() }, () => {
  let w: World;
  let browser: Browser;
  let admin: ApiClient;
  before(async () => {
    await ensureWebBuild(() => undefined);
    w = await startWorld({ http: true });
    admin = await loggedIn(w.bastion.baseUrl, 'admin', ADMIN_PASSWORD);
    browser = await launchBrowser();
  });
  after(async () => { await browser?.close(); await w?.stop(); await cleanup(); });

  test('an operator connects, types, pastes several lines after confirming, opens a second tab, and is told when an admin terminates', async () => {
    const s = await openPage(browser, w.bastion.baseUrl);
    try {
      const { page } = s;
      await logIn(page, 'alice', ALICE_PASSWORD);
      await page.goto(`/terminal/web01?systemUser=${encodeURIComponent(w.su.username)}`);
      await shows(page, /\$ ?$/m);
      await page.locator(`${ACTIVE} .xterm-helper-textarea`).focus();
      await page.keyboard.type('echo wt-$((6*7))');
      await page.keyboard.press('Enter');
      await shows(page, /^wt-42$/m);
      // Two lines pasted: nothing reaches the shell until the dialog is confirmed.
      await page.locator(`${ACTIVE} .xterm-helper-textarea`).evaluate((el) => {
        const data = new DataTransfer();
        data.setData('text/plain', 'echo one-$((1+1))\necho two-$((1+2))\n');
        el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
      });
      await page.locator('.ant-modal-confirm').filter({ hasText: 'Paste 2 lines? Each line runs as a command.' }).waitFor();
      assert.equal(await page.locator('.ant-modal-confirm').count(), 1);
      assert.doesNotMatch(await screen(page), /one-2/);
      await clickUntilGone(page.locator('.ant-modal-confirm').getByRole('button', { name: 'Paste', exact: true }), page.locator('.ant-modal-confirm'));
      // bash takes a paste as one bracketed block, run by Enter.
      await shows(page, /echo two-\$\(\(1\+2\)\)$/m);
      // The dialog gives the keyboard back to the terminal once it has closed.
      await eventually(() => page.locator(`${ACTIVE} .xterm-helper-textarea`).evaluate((el) => el === document.activeElement), (f) => f);
      await page.keyboard.press('Enter');
      await shows(page, /^one-2$[\s\S]*^two-3$/m);
      // A second terminal in a tab of its own.
      await page.getByTestId('terminal-new-tab').locator('visible=true').click();
      await eventually(() => page.getByTestId('terminal-tab').count(), (n) => n === 2);
      await shows(page, /\$ ?$/m);
      const sessions = await eventually(() => admin.get('/sessions?active=true'), (r) => r.body.items?.filter((x: { user: { username: string } }) => x.user.username === 'alice').length === 2);
      const mine = sessions.body.items.filter((x: { user: { username: string } }) => x.user.username === 'alice');
      assert.deepEqual(mine.map((x: { channel: string; kind: string }) => `${x.kind}/${x.channel}`), ['shell/web', 'shell/web']);
      for (const x of mine) assert.equal((await admin.post(`/sessions/${x.id}/terminate`)).status, 202);
      await page.getByTestId('terminal-ended').filter({ hasText: 'Session ended: terminated by admin' }).locator('visible=true').waitFor();
      await screenshot(page, 'web-terminal-terminated');
      assert.deepEqual(s.errors.filter((e) => !/Failed to load resource/.test(e)), []);
    } finally {
      await s.close();
    }
  });

  test('an operator without a grant gets no Connect button, and the terminal page is refused by the websocket (403)', async () => {
    await w.f.user({ username: 'norbert', password: 'No-grant-5678' });
    const s = await openPage(browser, w.bastion.baseUrl);
    try {
      const { page } = s;
      await logIn(page, 'norbert', 'No-grant-5678');
      await page.goto('/my-assets');
      await page.getByRole('heading', { name: 'My assets' }).waitFor();
      assert.equal(await page.getByRole('button', { name: /Connect/ }).count(), 0);
      assert.equal(await page.getByRole('link', { name: /Connect/ }).count(), 0);
      const refused = page.waitForEvent('websocket').then((ws) => new Promise<void>((resolve) => ws.on('close', () => resolve())));
      await page.goto('/terminal/web01');
      await refused;
      await page.getByTestId('terminal-ended').filter({ hasText: 'The terminal could not be opened' }).waitFor();
    } finally {
      await s.close();
    }
  });

  test('an admin with a grant finds Connect on the asset page, and it opens the terminal', async () => {
    const adminUser = (await admin.get('/me')).body;
    await w.f.permission({ users: [adminUser.id], assets: [w.web01.id], systemUsers: [w.su.id] });
    const s = await openPage(browser, w.bastion.baseUrl);
    try {
      const { page } = s;
      await logIn(page, 'admin', ADMIN_PASSWORD);
      await page.goto(`/assets/${w.web01.id}`);
      await page.getByTestId('connect').click();
      await page.waitForURL((u) => u.pathname === '/terminal/web01');
      await shows(page, /\$ ?$/m);
    } finally {
      await s.close();
    }
  });
  test('Connect on My assets opens the terminal; a dropped websocket is reconnected to the same shell', async () => {
    const s = await openPage(browser, w.bastion.baseUrl);
    try {
      const { page } = s;
      // The page's sockets, to drop one as a network failure would (a close the server did not ask for).
      await page.addInitScript(() => {
        const Native = window.WebSocket;
        const open: WebSocket[] = [];
        Object.assign(window, { openSockets: open });
        window.WebSocket = class extends Native {
          constructor(url: string | URL, protocols?: string | string[]) {
            super(url, protocols);
            open.push(this);
          }
        };
      });
      await logIn(page, 'alice', ALICE_PASSWORD);
      await page.goto('/my-assets');
      await page.getByRole('link', { name: /Connect/ }).first().click();
      await page.waitForURL((u) => u.pathname === '/terminal/web01');
      await shows(page, /\$ ?$/m);
      await page.locator(`${ACTIVE} .xterm-helper-textarea`).focus();
      await page.keyboard.type('X=kept-$((8*8)); echo set-$X');
      await page.keyboard.press('Enter');
      await shows(page, /^set-kept-64$/m);
      await page.evaluate(() => (window as unknown as { openSockets: WebSocket[] }).openSockets.filter((x) => x.url.includes('/ws/terminal'))[0]!.close(4001, 'network gone'));
      await eventually(() => page.evaluate(() => (window as unknown as { openSockets: WebSocket[] }).openSockets.filter((x) => x.url.includes('resume=')).length), (n) => n === 1);
      await page.getByTestId('terminal-tab').filter({ hasText: 'Connected' }).waitFor();
      await page.locator(`${ACTIVE} .xterm-helper-textarea`).focus();
      await page.keyboard.type('echo again-$X');
      await page.keyboard.press('Enter');
      await shows(page, /^again-kept-64$/m);
    } finally {
      await s.close();
    }
  });
});
