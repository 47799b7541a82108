// @xterm/headless (and its serializer) are loaded on first use, not at start: only PTY sessions
// (the command reader, readline lines) and screen replays need a terminal emulator, and an idle
// gateway worker or web server otherwise holds their ~2 MB of code on its heap (issue 13: the
// gateway's idle RSS). Both are CommonJS, so a synchronous require keeps the callers as they were.
import { createRequire } from 'node:module';
import type * as Headless from '@xterm/headless';
import type * as Serialize from '@xterm/addon-serialize';

const load = createRequire(import.meta.url);

let headless: typeof Headless | undefined;
let serialize: typeof Serialize | undefined;

/** xterm's headless Terminal class, loaded the first time it is asked for. */
export function headlessTerminal(): typeof Headless.Terminal {
  headless ??= load('@xterm/headless') as typeof Headless;
  return headless.Terminal;
}

/** xterm's SerializeAddon class, loaded the first time it is asked for. */
export function serializeAddon(): typeof Serialize.SerializeAddon {
  serialize ??= load('@xterm/addon-serialize') as typeof Serialize;
  return serialize.SerializeAddon;
}

/** The packages this module loads lazily (tests check an idle worker has not loaded them). */
export const LAZY_XTERM_PACKAGES = ['@xterm/headless', '@xterm/addon-serialize'] as const;
