// A gate in front of the setsid() that sshd's session child calls right after it forks a
// command: while the gate is closed the child waits there, so the command's process group does
// not exist yet and a "signal" channel request (OpenSSH killpg()s the session's pid) is certain
// to miss it — the window that exists for a few microseconds on a real asset, made as wide as a
// test needs. Built with the system C compiler into an LD_PRELOAD library for the test's sshd
// only (startSshd({ env: gate.env })); the commands the session runs never see it (sshd gives
// them a fresh environment).
import { execa } from 'execa';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from './tmp.ts';

// Only processes that no longer run as root wait: the session child (already the user) does, the
// listener and the per-connection monitors (root) do not. Bounded: a forgotten gate lets go after 60 s.
const SOURCE = String.raw`
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

pid_t setsid(void) {
  pid_t (*real)(void) = (pid_t (*)(void))dlsym(RTLD_NEXT, "setsid");
  const char *closed = getenv("BASTION_TEST_SETSID_GATE");
  if (closed && getuid() != 0) {
    struct timespec pause = { 0, 20 * 1000 * 1000 };
    for (int i = 0; i < 3000 && access(closed, F_OK) == 0; i++) nanosleep(&pause, NULL);
  }
  return real();
}
`;

export interface SetsidGate {
  /** The environment to start sshd with. */
  readonly env: Record<string, string>;
  /** Commands started from now on wait before their process group exists. */
  close(): void;
  /** Lets every waiting command go on. */
  open(): void;
}

export function setsidGateUnavailable(): string | undefined {
  return existsSync('/usr/bin/cc') && existsSync('/usr/include/dlfcn.h') ? undefined : 'the setsid gate needs a C compiler (apt-get install gcc libc6-dev)';
}

export async function makeSetsidGate(): Promise<SetsidGate> {
  const dir = makeTempDir('bastion-setsid-gate-');
  // The session child runs as the test account: it must see the gate file.
  chmodSync(dir, 0o755);
  const source = join(dir, 'gate.c');
  const library = join(dir, 'gate.so');
  writeFileSync(source, SOURCE);
  await execa('cc', ['-shared', '-fPIC', '-O2', '-o', library, source, '-ldl']);
  chmodSync(library, 0o755);
  const closed = join(dir, 'closed');
  return {
    env: { LD_PRELOAD: library, BASTION_TEST_SETSID_GATE: closed },
    close: () => writeFileSync(closed, ''),
    open: () => rmSync(closed, { force: true }),
  };
}
