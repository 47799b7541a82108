import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type Express } from 'express';
import { PACKAGE_ROOT } from './packageRoot.ts';

export const WEB_DIST = path.join(PACKAGE_ROOT, 'web', 'dist');

/** Serves the built single-page app with a fallback to index.html, so deep links reload. */
export function mountWebApp(app: Express, dist = WEB_DIST): boolean {
  const index = path.join(dist, 'index.html');
  if (!existsSync(index)) return false;
  const assets = path.join(dist, 'assets') + path.sep;
  app.use(express.static(dist, {
    index: false,
    maxAge: '1h',
    setHeaders: (res, file) => {
      if (file.endsWith('.html')) res.setHeader('Cache-Control', 'no-store');
      // Vite names every built asset by its content hash: a new build is a new URL, so the
      // browser never needs to ask again (no revalidation round trips queued before the API calls).
      else if (file.startsWith(assets)) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    },
  }));
  app.get(/^\/(?!api\/|ws\/).*/, (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.sendFile(index);
  });
  return true;
}
