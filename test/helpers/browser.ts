import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

/** Debian's Chromium: tests never download a browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SCREENSHOTS = path.join(ROOT, 'test-output', 'screenshots');

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Starts real headless Chromium; close it with `close()`. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true, timeout: 60_000 });
}

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** Errors the page threw or logged to the console, for assertions that the app ran clean. */
  errors: string[];
  close(): Promise<void>;
}

/**
 * A fresh context (no cookies, no storage) and page per test, bound to the bastion's base URL.
 *
 * Its system asks for less motion unless `motion: 'full'`: the console then shows drawers,
 * dialogs and menus at once (web/src/app/reducedMotion.tsx), as for every user who asks for
 * that. A click or key given while a panel still zooms or slides in can be lost or land on
 * what moves away (the stop-28 to 30 CI failures), and the tests check what the console does,
 * not its animations; web.fit keeps them, with the helpers below that wait them out.
 */
export async function openPage(browser: Browser, baseURL: string, opts: { locale?: string; motion?: 'reduced' | 'full' } = {}): Promise<BrowserSession> {
  // The server's CSP is always enforced: a page that only works with it bypassed does not work.
  const context = await browser.newContext({
    baseURL, locale: opts.locale ?? 'en-US', viewport: { width: 1400, height: 900 },
    reducedMotion: opts.motion === 'full' ? 'no-preference' : 'reduce',
  });
  // Generous: with two test files at a time on two cores, a first page load (the player's
  // WebAssembly terminal compiled, its recording fetched) took over 15 s once. A lost click or
  // key is not waited out this way: the helpers below act again.
  context.setDefaultTimeout(30_000);
  context.setDefaultNavigationTimeout(45_000);
  // Nothing may be fetched from outside the bastion.
  await context.route((url) => url.origin !== new URL(baseURL).origin && url.protocol !== 'data:', (route) => route.abort());
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  return { context, page, errors, close: () => context.close() };
}

/** Saves a full-page screenshot under test-output/screenshots/ for reviewers. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Logs in through the login form and waits for the app to leave /login. */
export async function logIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
}

/**
 * Does `act` until `shows` appears (or, with `state`, is hidden or gone), at most `attempts` times: on a loaded machine the page can
 * drop a click (an option list re-rendering under it, a dialog still opening), and the act is
 * then given again instead of failing the test on a wait that cannot end.
 */
async function retryUntil(act: (attempt: number) => Promise<void>, shows: Locator, timeout: number, attempts = 3, state: 'visible' | 'hidden' | 'detached' = 'visible'): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await act(attempt);
    try {
      await shows.waitFor({ timeout, state });
      return;
    } catch (err) {
      if (attempt === attempts) throw err;
    }
  }
}

/** Picks an option of an antd Select or TreeSelect found by its label, typing to search, until the field shows it. */
export async function pick(scope: Locator, label: string, option: string): Promise<void> {
  const input = scope.getByLabel(label, { exact: true });
  const field = input.locator('xpath=ancestor::*[contains(concat(" ", normalize-space(@class), " "), " ant-select ")][1]');
  await retryUntil(async () => {
    await input.click();
    // Searchable selects ask the server with what is typed: the part before " (address)".
    if (await input.getAttribute('readonly') === null) await input.fill(option.replace(/ \(.*\)$/, ''));
    const item = scope.page().locator('.ant-select-dropdown:visible').locator(`.ant-select-item-option[title="${option}"], .ant-select-tree-node-content-wrapper[title="${option}"]`).first();
    await item.click();
    // Blur, not Escape, closes a multiple select's list: a single select's list closes on the
    // click, and rc-select stops an Escape only while open, so that Escape reached the dialog
    // or drawer around the field and closed it (web.bulk, stop-30 CI: Apply detached).
    await input.blur();
  }, field.filter({ hasText: option }), 3000);
}

/** Clicks `target` until `shows` appears (see retryUntil). */
export async function clickUntil(target: Locator, shows: Locator): Promise<void> {
  await retryUntil(() => target.click(), shows, 5000);
}

/**
 * Opens an action menu with `opener` and clicks its item `item` until `shows` (the dialog
 * or drawer the item opens) appears. A click on an item while the menu is still zooming in can
 * be lost (web.fit in a stop-28 CI: the confirmation never came, the test waited 30 s); each
 * attempt reopens the menu if it has closed, and none is made once `shows` is there.
 */
export async function chooseFromMenu(opener: Locator, item: string | RegExp, shows: Locator): Promise<void> {
  const entry = opener.page().getByRole('menuitem', { name: item });
  await retryUntil(async () => {
    if (await shows.isVisible()) return;
    // A click that does not land is what is retried: whether `shows` appeared decides.
    if (!(await entry.isVisible())) {
      await opener.click({ timeout: 5000 }).catch(() => undefined);
      await entry.waitFor({ timeout: 5000 }).catch(() => undefined);
    }
    await entry.click({ timeout: 5000 }).catch(() => undefined);
  }, shows, 5000);
}

/** A popconfirm's or a confirmation dialog's (Modal.confirm) box, while one is open. */
export const confirmationBox = (page: Page): Locator => page.locator('.ant-popconfirm:visible, .ant-modal-confirm:visible');

/**
 * Clicks `opener` (a Delete button) until its confirmation shows, then the confirmation's
 * `answer` until it has gone: both clicks can be lost while the box zooms in (see chooseFromMenu).
 * A button that shows a spinner while the request runs takes no second click.
 */
export async function confirmWith(opener: Locator, answer: string | RegExp): Promise<void> {
  const box = confirmationBox(opener.page());
  await clickUntil(opener, box);
  await clickUntilGone(box.getByRole('button', { name: answer }), box, 'hidden');
}

/**
 * Clicks `target` (a dialog's Cancel, a popconfirm's button) until `gone` is detached, or
 * hidden with `state: 'hidden'` (see retryUntil): a click that lands while a modal is still
 * zooming in can be lost when two test files share the machine. The first click waits for
 * `target` to appear (a popconfirm still opening: `gone` would count as hidden before it has
 * shown); a later one is skipped once `target` has gone.
 */
export async function clickUntilGone(target: Locator, gone: Locator, state: 'hidden' | 'detached' = 'detached'): Promise<void> {
  await retryUntil(async (attempt) => {
    if (attempt === 1 || (await target.isVisible())) await target.click();
  }, gone, 5000, 3, state);
}

/**
 * Presses Escape until `gone` (a drawer or a modal, or something inside one) is detached, or
 * hidden with `state: 'hidden'`. antd's overlays start listening for Escape in an effect that
 * runs after they are drawn, the same one that moves focus into them: under load, a key
 * pressed as soon as the title shows came before it and was lost (web.fit in ci42, a drawer
 * still open 15 s later). So each press waits until focus is inside the overlay, and a later
 * press is skipped once it has gone.
 */
export async function escapeUntilGone(gone: Locator, state: 'hidden' | 'detached' = 'detached'): Promise<void> {
  const page = gone.page();
  await retryUntil(async (attempt) => {
    if (attempt > 1 && !(await gone.isVisible())) return;
    const overlay = await gone.elementHandle({ timeout: 5000 });
    await page.waitForFunction((el) => (el?.closest('.ant-drawer, .ant-modal-root, .ant-modal-wrap') ?? el)?.contains(document.activeElement) ?? true, overlay, { timeout: 5000 });
    await page.keyboard.press('Escape');
  }, gone, 5000, 3, state);
}

/**
 * Waits until nothing in `el` (or the overlay around it) is moving. An animation's `finished`
 * rejects with AbortError when antd cancels it for a new one — a drawer's slide-in replaced
 * while it runs (web.fit in ci56) — so a cancelled one is not a failure: the loop looks again
 * until no animation is left running.
 */
export async function animationsSettled(el: Locator, within = '.ant-drawer'): Promise<void> {
  await el.evaluate(async (node, selector) => {
    const root = node.closest(selector) ?? node;
    for (let i = 0; i < 50; i += 1) {
      const running = root.getAnimations({ subtree: true }).filter((a) => a.playState === 'running' || a.pending);
      if (running.length === 0) return;
      await Promise.all(running.map((a) => a.finished.catch(() => undefined)));
    }
  }, within);
}
