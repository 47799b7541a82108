// The operators' own tools, run for real: PuTTY (plink, pscp, psftp), paramiko, OpenSSH's
// sftp/ssh with a password, rsync and git — each pointed at one endpoint, which is either the
// gateway or the asset reached through a jump host (ProxyCommand), so tests and the clients
// bench drive both the same way.
import { createHash } from 'node:crypto';
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type Options } from 'execa';
import { makeTempDir } from './tmp.ts';

/** Debian's python3, which has python3-paramiko (a pyenv shim first on PATH may not). */
export const PYTHON = '/usr/bin/python3';

export interface Endpoint {
  port: number;
  /** The login name, e.g. `alice@web01` for the gateway or `bastiont` for the asset. */
  user: string;
  password: string;
  /** Host key fingerprints (`SHA256:…`) PuTTY accepts without asking. */
  hostKeys: string[];
  /** An OpenSSH ProxyCommand (with %h %p) when the endpoint is behind a jump host. */
  proxyCommand?: string;
}

/** How long one client run may take: 3 minutes, or CLIENTS_TIMEOUT_S (the rss bench's 1 GiB transfers on a loaded host need more). */
const timeoutMs = (): number => Number(process.env.CLIENTS_TIMEOUT_S ?? 180) * 1000;

export interface TextResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

async function run(file: string, args: string[], opts: Options = {}): Promise<TextResult> {
  const r = await execa(file, args, { reject: false, timeout: timeoutMs(), ...opts });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (c) => h.update(c)).on('error', reject).on('end', () => resolve(h.digest('hex')));
  });
}

/** The SHA256 fingerprints of every host key an SSH server on loopback offers. */
export async function hostKeyFingerprints(port: number): Promise<string[]> {
  const scan = await execa('ssh-keyscan', ['-p', String(port), '127.0.0.1'], { reject: false, timeout: 30_000 });
  const lines = await execa('ssh-keygen', ['-lf', '-'], { input: scan.stdout, reject: false });
  return [...lines.stdout.matchAll(/SHA256:[A-Za-z0-9+/=]+/g)].map((m) => m[0]);
}

function puttyArgs(ep: Endpoint): string[] {
  return [
    '-batch', '-pw', ep.password, '-P', String(ep.port), '-l', ep.user,
    ...ep.hostKeys.flatMap((k) => ['-hostkey', k]),
    // PuTTY's local proxy command: %host/%port are its own placeholders.
    ...(ep.proxyCommand ? ['-proxycmd', ep.proxyCommand.replace('%h', '%host').replace('%p', '%port')] : []),
  ];
}

/** pscp (SFTP protocol): `from` and `to` are local paths or `:remote` paths; `extra` goes before them (e.g. `-v`). */
export function pscp(ep: Endpoint, from: string, to: string, extra: string[] = []): Promise<TextResult> {
  const at = (p: string) => (p.startsWith(':') ? `127.0.0.1${p}` : p);
  return run('pscp', [...puttyArgs(ep), '-sftp', '-q', ...extra, at(from), at(to)]);
}

/** psftp with a batch script; `extra` goes before the host (e.g. `-sshlog <file>`). */
export function psftp(ep: Endpoint, lines: string[], extra: string[] = []): Promise<TextResult> {
  const script = join(makeTempDir('bastion-psftp-'), 'script');
  writeFileSync(script, lines.join('\n') + '\n');
  return run('psftp', [...puttyArgs(ep), ...extra, '-b', script, '127.0.0.1']);
}

export interface RawResult {
  exitCode: number | undefined;
  stdout: Buffer;
  stderr: string;
}

/** plink running one command (no terminal); stdout as raw bytes. */
export async function plink(ep: Endpoint, command: string, input: Buffer = Buffer.alloc(0)): Promise<RawResult> {
  const r = await execa('plink', [...puttyArgs(ep), '-T', '127.0.0.1', command], { reject: false, timeout: timeoutMs(), encoding: 'buffer', input });
  return { exitCode: r.exitCode, stdout: Buffer.from(r.stdout), stderr: Buffer.from(r.stderr).toString('utf8') };
}

const PARAMIKO = String.raw`
import json, sys, paramiko
a = json.loads(sys.argv[1])
sock = paramiko.ProxyCommand(a['proxy']) if a.get('proxy') else None
t = paramiko.Transport(sock if sock else ('127.0.0.1', a['port']))
t.connect(username=a['user'], password=a['password'])
op = a['op']
if op == 'exec':
    ch = t.open_session()
    ch.exec_command(a['command'])
    with open(a['local'], 'wb') as out:
        while True:
            d = ch.recv(1 << 16)
            if not d:
                break
            out.write(d)
    sys.stderr.write(ch.makefile_stderr('rb').read().decode('utf8', 'replace'))
    code = ch.recv_exit_status()
    t.close()
    sys.exit(code)
sftp = paramiko.SFTPClient.from_transport(t)
if op == 'get':
    sftp.get(a['remote'], a['local'])
elif op == 'put':
    sftp.put(a['local'], a['remote'])
elif op == 'rename':
    sftp.posix_rename(a['remote'], a['local'])
sftp.close()
t.close()
`;

/** paramiko's SFTPClient.get/put (prefetching and pipelining as it does by default), posix_rename, or an exec whose stdout goes to `local`. */
export function paramiko(ep: Endpoint, args: { op: 'get' | 'put' | 'rename' | 'exec'; remote?: string; local: string; command?: string }): Promise<TextResult> {
  const a = { ...args, port: ep.port, user: ep.user, password: ep.password, proxy: ep.proxyCommand?.replace('%h', '127.0.0.1').replace('%p', String(ep.port)) };
  return run(PYTHON, ['-c', PARAMIKO, JSON.stringify(a)]);
}

const OPENSSH_OPTS = ['-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1'];

function opensshOpts(ep: Endpoint): string[] {
  return [...OPENSSH_OPTS, ...(ep.proxyCommand ? ['-o', `ProxyCommand=${ep.proxyCommand}`] : [])];
}

/** OpenSSH's sftp in batch mode (BatchMode=no first, so sshpass may answer) with a password; extra options (e.g. `-R 512`) before the host. */
export function opensshSftp(ep: Endpoint, lines: string[], extra: string[] = []): Promise<TextResult> {
  return run('sshpass', ['-p', ep.password, 'sftp', ...opensshOpts(ep), ...extra, '-P', String(ep.port), '-b', '-', `${ep.user}@127.0.0.1`], {
    input: lines.join('\n') + '\n',
  });
}

/** The `ssh` command line (for rsync -e and GIT_SSH_COMMAND), password by sshpass. */
export function sshCommandLine(ep: Endpoint): string[] {
  return ['sshpass', '-p', ep.password, 'ssh', ...opensshOpts(ep), '-p', String(ep.port)];
}

/** rsync over ssh; `:path` arguments are on the endpoint; `bin` is the operator's rsync (test/helpers/rsyncVersions.ts). */
export function rsync(ep: Endpoint, args: string[], bin = 'rsync'): Promise<TextResult> {
  const e = sshCommandLine(ep).map((w) => (/[\s%]/.test(w) ? `'${w}'` : w)).join(' ');
  const at = (p: string) => (p.startsWith(':') ? `${ep.user}@127.0.0.1${p}` : p);
  return run(bin, ['-e', e, ...args.map(at)]);
}

/** OpenSSH's scp (SFTP mode, its default; `-O` in `extra` for the legacy protocol) with a password; `:path` arguments are on the endpoint. */
export function opensshScp(ep: Endpoint, from: string, to: string, extra: string[] = []): Promise<TextResult> {
  const at = (p: string) => (p.startsWith(':') ? `${ep.user}@127.0.0.1${p}` : p);
  return run('sshpass', ['-p', ep.password, 'scp', ...opensshOpts(ep), ...extra, '-P', String(ep.port), at(from), at(to)]);
}

/**
 * `ssh host command > file`: an exec whose output streams into a local file. The shell's
 * redirection has ssh write the file itself; execa's `{ file }` would pipe every byte through
 * this process — the gateway's own in the clients bench, where it cost CPU and grew its RSS.
 */
export function opensshExecToFile(ep: Endpoint, command: string, file: string): Promise<TextResult> {
  const ssh = ['sshpass', '-p', ep.password, 'ssh', ...opensshOpts(ep), '-p', String(ep.port), `${ep.user}@127.0.0.1`, command];
  return run('sh', ['-c', 'out=$1; shift; exec "$@" > "$out"', 'sh', file, ...ssh]);
}
