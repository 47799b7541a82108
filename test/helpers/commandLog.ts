// Ground truth for the command log (issue 11 item 5): a real sshd whose bash appends every
// line it executes to a history file (`PROMPT_COMMAND='history -a'`), a gateway in-process
// with an operator, and real PTY sessions driven through the gateway. What the shell ran
// (its history) is compared with what the gateway logged (the Command rows).
//
// The backend account is the rig's own (`bastioncmd`). Its ~/.bashrc only sources the file
// that the rig's sshd names (`SetEnv BASTION_CMDLOG_RC`), so rigs running at once (the bench
// beside the test suite) each have their own history file: no history filtering
// (HISTCONTROL/HISTIGNORE empty), a distinctive prompt, history appended after every command
// and at exit.
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import ssh2 from 'ssh2';
import type { ClientChannel } from 'ssh2';
import { SYSTEM_ACTOR } from '../../core/actor.ts';
import type { CommandRecord } from '../../core/db/entities/audit.ts';
import { startBastion, type Bastion } from './bastion.ts';
import { startSshd, type Sshd } from './sshd.ts';
import { makeTempDir } from './tmp.ts';

type Client = InstanceType<typeof ssh2.Client>;

export const RIG_USERNAME = 'bastioncmd';
const ALICE_PASSWORD = 'Cmdlog-operator-pw-2024';
const QUIET = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes'];
/** The backend prompt: `[cmdlog /tmp]$ `. */
export const PROMPT_RE = /\[cmdlog [^\]\n]*\]\$ $/;

export interface Rig {
  sshd: Sshd;
  bastion: Bastion;
  /** A file of helper scripts on the backend (a sudo-like password prompt). */
  binDir: string;
  keyPath: string;
  /** The history lines appended since the last call (what bash executed meanwhile). */
  takeHistory(): string[];
  stop(): Promise<void>;
}

export async function startCommandLogRig(): Promise<Rig> {
  const dir = makeTempDir('bastion-cmdlog-');
  chmodSync(dir, 0o755);
  const rcFile = join(dir, 'bashrc');
  const sshd = await startSshd({ username: RIG_USERNAME, extraConfig: [`SetEnv BASTION_CMDLOG_RC=${rcFile}`] });
  const histDir = join(dir, 'history');
  mkdirSync(histDir, { recursive: true });
  const { stdout: uid } = await execa('id', ['-u', RIG_USERNAME]);
  const { stdout: gid } = await execa('id', ['-g', RIG_USERNAME]);
  chownSync(histDir, Number(uid), Number(gid));
  const histFile = join(histDir, 'bash_history');
  const binDir = join(dir, 'bin');
  mkdirSync(binDir, { recursive: true });
  chmodSync(binDir, 0o755);
  // A sudo-like prompt: reads a password with echo off, then runs its arguments.
  writeFileSync(join(binDir, 'fakesudo'), '#!/bin/bash\nread -rs -p "[sudo] password for $USER: " pw\necho\n[ -n "$pw" ] && "$@"\n', { mode: 0o755 });
  const home = (await execa('getent', ['passwd', RIG_USERNAME])).stdout.split(':')[5]!;
  const rc = [
    '# written by test/helpers/commandLog.ts',
    `HISTFILE=${histFile}`,
    'HISTCONTROL=',
    'HISTIGNORE=',
    'HISTSIZE=100000',
    'HISTFILESIZE=100000',
    'shopt -s histappend',
    "PROMPT_COMMAND='history -a'",
    "PS1='[cmdlog \\w]\\$ '",
    `PATH=${binDir}:$PATH`,
    // Rigs running at once share the account: no vim or less state files to fight over.
    "export VIMINIT='set nocompatible viminfo= noswapfile' LESSHISTFILE=-",
    'cd /tmp',
    '',
  ].join('\n');
  writeFileSync(rcFile, rc, { mode: 0o644 });
  writeFileSync(join(home, '.bashrc'), '# written by test/helpers/commandLog.ts: each rig\'s sshd names its own file\n[ -r "$BASTION_CMDLOG_RC" ] && . "$BASTION_CMDLOG_RC"\n');
  writeFileSync(join(home, '.profile'), '. ~/.bashrc\n');
  const bastion = await startBastion({ http: false, gateway: true });
  const s = bastion.services;
  const keyPath = join(bastion.dataDir, 'alice_ed25519');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@cmdlog', '-f', keyPath]);
  const alice = await s.users.create(SYSTEM_ACTOR, { username: 'alice', password: ALICE_PASSWORD, role: 'user', mustChangePassword: false });
  await s.userKeys.add(SYSTEM_ACTOR, alice.id, { publicKey: readFileSync(`${keyPath}.pub`, 'utf8'), name: 'cmdlog' });
  const asset = await s.assets.create(SYSTEM_ACTOR, { name: 'web01', address: sshd.host, port: sshd.port });
  const su = await s.systemUsers.create(SYSTEM_ACTOR, { name: 'cmd', username: sshd.username, privateKey: sshd.privateKey });
  await s.permissions.create(SYSTEM_ACTOR, { name: 'cmdlog', users: [alice.id], assets: [asset.id], systemUsers: [su.id], actions: ['connect'] });
  let seen = 0;
  return {
    sshd, bastion, binDir, keyPath,
    takeHistory() {
      if (!existsSync(histFile)) return [];
      const lines = readFileSync(histFile, 'utf8').split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      const fresh = lines.slice(seen);
      seen = lines.length;
      return fresh;
    },
    async stop() {
      await bastion.stop();
      await sshd.stop();
    },
  };
}

/** The Command rows of the sessions alice started after `since` (session ids), once they have ended. */
export async function commandsOfNewSessions(rig: Rig, known: Set<string>): Promise<CommandRecord[]> {
  const sessions = rig.bastion.services.sessions;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const items = (await sessions.list({ user: 'alice', limit: 100 })).items.filter((x) => !known.has(x.id));
    if (items.length > 0 && items.every((x) => x.status !== 'active')) {
      const out: CommandRecord[] = [];
      for (const x of items.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime())) {
        out.push(...(await sessions.commands(x.id, { limit: 1000 })).items);
        known.add(x.id);
      }
      return out;
    }
    if (Date.now() > deadline) throw new Error('the sessions did not end within 30 s');
    await sleep(50);
  }
}

export async function sessionIds(rig: Rig): Promise<Set<string>> {
  return new Set((await rig.bastion.services.sessions.list({ user: 'alice', limit: 1000 })).items.map((x) => x.id));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** An operator's terminal on web01 through the gateway (ssh2 client with a PTY). */
export class OperatorTerm {
  output = '';
  /** Where the next wait for a prompt starts. */
  mark = 0;
  private constructor(private readonly client: Client, private readonly stream: ClientChannel, readonly keyDelayMs: number) {}

  /** A shell, or with `exec` an exec with a PTY (`ssh -t … bash -i`). */
  static async open(rig: Rig, opts: { cols?: number; rows?: number; exec?: string; keyDelayMs?: number } = {}): Promise<OperatorTerm> {
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve).once('error', reject);
      client.connect({ host: '127.0.0.1', port: rig.bastion.sshPort, username: 'alice@web01', privateKey: readFileSync(rig.keyPath, 'utf8'), readyTimeout: 30_000 });
    });
    const pty = { term: 'xterm-256color', cols: opts.cols ?? 80, rows: opts.rows ?? 24, width: 0, height: 0, modes: {} };
    const stream = await new Promise<ClientChannel>((resolve, reject) => {
      const cb = (err: Error | undefined, s: ClientChannel): void => (err ? reject(err) : resolve(s));
      if (opts.exec) client.exec(opts.exec, { pty }, cb);
      else client.shell(pty, cb);
    });
    const t = new OperatorTerm(client, stream, opts.keyDelayMs ?? 8);
    stream.on('data', (d: Buffer) => { t.output += d.toString('utf8'); });
    await t.prompt();
    return t;
  }

  /** Waits until the output since `from` matches; returns the output length then. */
  async waitFor(re: RegExp, from = this.mark, timeoutMs = 20_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this.output.slice(from))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}; output so far:\n${JSON.stringify(this.output.slice(-1500))}`);
      await sleep(5);
    }
    return this.output.length;
  }

  /** Waits for the next prompt after the mark and moves the mark past it. */
  async prompt(timeoutMs = 20_000): Promise<void> {
    this.mark = await this.waitFor(PROMPT_RE, this.mark, timeoutMs);
  }

  /** One write, as a terminal sends a key or a paste. */
  send(keys: string): void {
    this.stream.write(keys);
  }

  /** Types keys one at a time (an escape sequence is one key). */
  async keys(text: string): Promise<void> {
    for (const key of text.match(/\x1b\[[0-9;]*[~A-Za-z]|\x1bO.|\x1b.|[^]/gu) ?? []) {
      this.stream.write(key);
      await sleep(this.keyDelayMs);
    }
  }

  /** Types a line, presses Enter and waits for the next prompt. */
  async line(text: string): Promise<void> {
    await this.keys(text);
    this.mark = this.output.length;
    this.send('\r');
    await this.prompt();
  }

  /** Presses Enter (or another accept key) and waits for the prompt. */
  async enter(key = '\r'): Promise<void> {
    this.mark = this.output.length;
    this.send(key);
    await this.prompt();
  }

  /** Types `exit` and waits for the channel to close. */
  async exit(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.stream.once('close', () => resolve()));
    await this.keys('exit');
    this.send('\r');
    await Promise.race([closed, sleep(10_000)]);
    this.client.end();
  }
}

/** A script piped into `ssh -tt` through the gateway (the real OpenSSH client). */
export async function pipeIntoSshTT(rig: Rig, script: string): Promise<string> {
  const r = await execa('ssh', ['-tt', ...QUIET, '-i', rig.keyPath, '-p', String(rig.bastion.sshPort), 'alice@web01@127.0.0.1'], { input: script, reject: false, timeout: 60_000 });
  return r.stdout;
}

/** A corpus scenario: drives one or more sessions; `secrets` must never reach the command log. */
export interface Scenario {
  cls: string;
  name: string;
  secrets?: string[];
  /** Exec commands the scenario runs (`ssh -t … bash -i`): they ran, though not from bash's history. */
  execs?: string[];
  run(rig: Rig): Promise<void>;
}

/** What one scenario scored: lines the shell executed, lines logged, and how many of each matched. */
export interface Score {
  cls: string;
  name: string;
  truth: string[];
  logged: string[];
  matched: number;
  /** Logged lines that match nothing the shell executed. */
  invented: string[];
  /** Executed lines missing from the log. */
  missed: string[];
  secretsFound: string[];
}

/** The marker the command log writes for a line that ran with echo off: its length, never its text. */
export const NOT_ECHOED = /^\[input not echoed: (\d+) characters?\]$/;

/**
 * Compares as multisets (a nested `bash -i` appends its history before the outer shell's
 * line that started it). A "not echoed" marker matches an executed line of its length that
 * no logged text matched.
 */
export function score(sc: Pick<Scenario, 'cls' | 'name' | 'secrets'>, truth: string[], rows: Pick<CommandRecord, 'input' | 'output' | 'notEchoed'>[]): Score {
  const logged = rows.map((r) => r.input);
  const left = new Map<string, number>();
  for (const t of truth) left.set(t, (left.get(t) ?? 0) + 1);
  let matched = 0;
  const invented: string[] = [];
  const markers: number[] = [];
  for (const row of rows) {
    const l = row.input;
    // Only a row flagged by the gateway is a marker; the same text typed is a command like any.
    const m = row.notEchoed ? NOT_ECHOED.exec(l) : null;
    if (m) {
      markers.push(Number(m[1]));
      continue;
    }
    const n = left.get(l) ?? 0;
    if (n > 0) {
      left.set(l, n - 1);
      matched++;
    } else {
      invented.push(l);
    }
  }
  for (const len of markers) {
    const hit = [...left.entries()].find(([t, n]) => n > 0 && t.length === len);
    if (hit) {
      left.set(hit[0], hit[1] - 1);
      matched++;
    } else {
      invented.push(`[input not echoed: ${len} characters]`);
    }
  }
  const missed = [...left.entries()].flatMap(([t, n]) => Array<string>(n).fill(t));
  const all = JSON.stringify(rows);
  const secretsFound = (sc.secrets ?? []).filter((s) => all.includes(s));
  return { cls: sc.cls, name: sc.name, truth, logged, matched, invented, missed, secretsFound };
}

/** Runs each scenario in its own session(s) and scores it against the shell's history. */
export async function runCorpus(rig: Rig, scenarios: Scenario[], onScore?: (s: Score) => void): Promise<Score[]> {
  const known = await sessionIds(rig);
  rig.takeHistory();
  const scores: Score[] = [];
  for (const sc of scenarios) {
    await sc.run(rig);
    const rows = await commandsOfNewSessions(rig, known);
    // Bash keeps trailing blanks (a completion's space) in its history; they change nothing.
    const truth = [...rig.takeHistory(), ...(sc.execs ?? [])].map((l) => l.trim());
    const s = score(sc, truth, rows);
    scores.push(s);
    onScore?.(s);
  }
  return scores;
}

/** Recall and precision per class and overall. */
export function summarize(scores: Score[]): { cls: string; truth: number; logged: number; matched: number; recall: number; precision: number; secrets: number }[] {
  const classes = [...new Set(scores.map((s) => s.cls)), 'all'];
  return classes.map((cls) => {
    const of = cls === 'all' ? scores : scores.filter((s) => s.cls === cls);
    const truth = of.reduce((n, s) => n + s.truth.length, 0);
    const logged = of.reduce((n, s) => n + s.logged.length, 0);
    const matched = of.reduce((n, s) => n + s.matched, 0);
    const secrets = of.reduce((n, s) => n + s.secretsFound.length, 0);
    return { cls, truth, logged, matched, recall: truth ? matched / truth : 1, precision: logged ? matched / logged : 1, secrets };
  });
}
