// One product and one Chromium page for a web test file: the web build, a bastion with HTTP,
// the rows the file needs (seed), a browser page logged in as whoever the file is about.
import type { Browser, Page } from 'playwright-core';
import { ensureWebBuild } from '../../server/webBuild.ts';
import { startBastion, type Bastion, type BastionOptions } from './bastion.ts';
import { factories } from './factories.ts';
import { launchBrowser, logIn, openPage, type BrowserSession } from './browser.ts';
import { cleanup } from './tmp.ts';

export interface WebWorld {
  b: Bastion;
  f: ReturnType<typeof factories>;
  browser: Browser;
  s: BrowserSession;
  page: Page;
  stop(): Promise<void>;
}

export interface WebWorldOptions {
  bastion?: BastionOptions;
  /** Rows made before the browser opens. */
  seed?: (b: Bastion, f: ReturnType<typeof factories>) => Promise<void>;
  /** Logged in before the tests; errors seen up to then (the login page's own 401) are forgotten. */
  login?: { username: string; password: string };
}

export async function startWebWorld(o: WebWorldOptions = {}): Promise<WebWorld> {
  await ensureWebBuild(() => undefined);
  const b = await startBastion(o.bastion ?? {});
  const f = factories(b.services);
  await o.seed?.(b, f);
  const browser = await launchBrowser();
  const s = await openPage(browser, b.baseUrl);
  if (o.login) {
    await logIn(s.page, o.login.username, o.login.password);
    s.errors.length = 0;
  }
  return {
    b, f, browser, s, page: s.page,
    async stop() {
      await s.close();
      await browser.close();
      await b.services.jobs.stopAll();
      await b.stop();
      await cleanup();
    },
  };
}
