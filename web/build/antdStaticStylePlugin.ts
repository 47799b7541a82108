import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SCRIPT = path.join(HERE, 'antdStaticStyle.ts');
// `--import tsx` is resolved from the working directory: the project's, wherever the build is started from.
const ROOT = path.resolve(HERE, '../..');
const ID = 'virtual:antd-static.css';
// A virtual id ending in .css goes through Vite's CSS pipeline (minified, hashed, a <link>).
const RESOLVED = '\0' + ID;

/**
 * `import 'virtual:antd-static.css'`: antd's styles for the app's common components, extracted
 * when the app is built (see antdStaticStyle.ts). A failed extraction fails the build: a silently
 * empty file would only make the app slower, and nobody would notice.
 */
export function antdStaticStyle(): Plugin {
  let nodeEnv = 'production';
  return {
    name: 'bastion:antd-static-style',
    configResolved(config) {
      nodeEnv = config.isProduction ? 'production' : 'development';
    },
    resolveId(id) {
      return id === ID ? RESOLVED : undefined;
    },
    load(id) {
      if (id !== RESOLVED) return undefined;
      const css = execFileSync(process.execPath, ['--import', 'tsx', SCRIPT], {
        cwd: ROOT,
        env: { ...process.env, NODE_ENV: nodeEnv },
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        // antd's deprecation notices (Input.Group, …) are about the extractor's own sample markup.
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      if (!css.includes('data-ant-cssinjs-cache-path')) throw new Error('antd static style extraction produced no cache-path marker');
      return css;
    },
  };
}
