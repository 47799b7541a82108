/**
 * Web first paint (issue 15): how soon real Chromium paints the login page and a deep link
 * (an asset's page, logged in), cold (a new browser context: empty cache, as a first visit)
 * and warm (the same context again: hashed assets from the cache, index.html asked again).
 * First contentful paint from the page's own Performance timeline, median of WEB_RUNS runs.
 * Targets: cold ≤ 0.9 s, warm ≤ 0.3 s.
 *
 * Run: npm run bench -- web   [WEB_RUNS=5]
 */
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext } from 'playwright-core';
import { ensureWebBuild } from '../server/webBuild.ts';
import { startBastion, ADMIN_PASSWORD } from '../test/helpers/bastion.ts';
import { loggedIn } from '../test/helpers/api.ts';
import { factories } from '../test/helpers/factories.ts';
import { launchBrowser } from '../test/helpers/browser.ts';
import { cleanup } from '../test/helpers/tmp.ts';

const RUNS = Number(process.env.WEB_RUNS ?? 5);

/** The median of the runs that painted (a run whose timeline has no paint entry is left out, not sorted as NaN). */
const median = (xs: number[]) => {
  const ok = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return ok.length ? ok[Math.floor(ok.length / 2)]! : Number.NaN;
};
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

/** Loads `path` and returns its first contentful paint in ms, once the page's heading is there. */
async function firstPaint(context: BrowserContext, baseUrl: string, path: string): Promise<number> {
  const page = await context.newPage();
  try {
    await page.goto(baseUrl + path);
    await page.locator('h1').first().waitFor();
    return await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN);
  } finally {
    await page.close();
  }
}

export async function runWebBench(): Promise<Record<string, number>> {
  await ensureWebBuild(() => undefined);
  const b = await startBastion();
  let browser: Browser | null = null;
  try {
    const asset = await factories(b.services).asset({ name: 'bench01' });
    const admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
    const cookie = admin.cookie!.split('=');
    browser = await launchBrowser();
    const cases: Array<[string, string, boolean]> = [['login page', '/login', false], ['deep link (asset page)', `/assets/${asset.id}`, true]];
    const out: Record<string, number> = {};
    // On a shared machine the figures follow the load: they are printed together.
    console.log('\nweb first paint (Chromium, first-contentful-paint, median of %d; load average %s)', RUNS, load());
    console.log('page                      cold ms   warm ms');
    for (const [name, path, auth] of cases) {
      const cold: number[] = [];
      const warm: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
        if (auth) await context.addCookies([{ name: cookie[0]!, value: cookie[1]!, url: b.baseUrl }]);
        cold.push(await firstPaint(context, b.baseUrl, path));
        warm.push(await firstPaint(context, b.baseUrl, path));
        await context.close();
      }
      out[`${name} cold`] = median(cold);
      out[`${name} warm`] = median(warm);
      console.log(`${name.padEnd(24)} ${median(cold).toFixed(0).padStart(7)}   ${median(warm).toFixed(0).padStart(7)}`);
    }
    console.log('load average at the end: %s', load());
    return out;
  } finally {
    await browser?.close();
    await b.stop();
    await cleanup();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runWebBench();
