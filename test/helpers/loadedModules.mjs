// Loaded into a product process with NODE_OPTIONS=--import (test/build.test.ts): on SIGUSR2 it
// writes the CommonJS modules the process has loaded (require.cache: packages imported from ESM
// land there too) to $BASTION_TEST_MODULES_DIR/<pid>.json, so a test can check that an idle
// process has not loaded what it loads lazily. Plain JavaScript: it runs before the product.
import { createRequire } from 'node:module';
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.env.BASTION_TEST_MODULES_DIR;
const require = createRequire(import.meta.url);
if (dir) {
  process.on('SIGUSR2', () => {
    const file = path.join(dir, `${process.pid}.json`);
    // Written whole, then renamed: the test never reads half a list.
    writeFileSync(`${file}.tmp`, JSON.stringify(Object.keys(require.cache)));
    renameSync(`${file}.tmp`, file);
  });
}
