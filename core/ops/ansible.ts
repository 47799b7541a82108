import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UnavailableError } from '../errors.ts';
import type { Secret } from '../vault/secret.ts';

const PLAYBOOKS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'playbooks');

/** The only playbooks Bastion runs (rule 8): a fixed list, shipped with the project. */
export type PlaybookName = 'facts' | 'push_system_user';

export interface AnsibleHost {
  address: string;
  port: number;
  username: string;
  password: Secret<string> | null;
  privateKey: Secret<string> | null;
  /** "type base64" of the pinned host key; ssh refuses any other. */
  hostKey: string;
}

export interface PlaybookRun {
  ok: boolean;
  unreachable: boolean;
  /** Per task: name, ok, message. */
  tasks: { name: string; ok: boolean; changed: boolean; message: string }[];
  facts: Record<string, unknown> | null;
  output: string;
}

/**
 * Renders a value as YAML where every string is tagged !unsafe, so Ansible treats it as
 * data and never evaluates `{{ … }}` in it. JSON string escapes are valid YAML double-quoted
 * escapes, so JSON.stringify gives a correct, single-line scalar.
 */
export function unsafeYaml(value: unknown, indent = ''): string {
  if (typeof value === 'string') return `!unsafe ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? '[]' : '\n' + value.map((v) => `${indent}- ${unsafeYaml(v, indent + '  ')}`).join('\n');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  return '\n' + entries.map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`refusing YAML key ${JSON.stringify(k)}`);
    return `${indent}${k}: ${unsafeYaml(v, indent + '  ')}`;
  }).join('\n');
}

/**
 * execa (a hundred modules) is loaded by the first playbook run, not by every process that
 * imports the services: gateway workers never run one (issue 13: idle RSS).
 */
const loadExeca = async () => (await import('execa')).execa;

async function requireCommand(cmd: string, pkg: string): Promise<void> {
  const execa = await loadExeca();
  const r = await execa('sh', ['-c', `command -v ${cmd}`], { reject: false });
  if (r.exitCode !== 0) throw new UnavailableError(`${cmd} is not installed on the bastion host; install the Debian package '${pkg}' (apt-get install ${pkg})`, { reason: 'tool_not_installed', command: cmd, package: pkg });
}

/** Runs one shipped playbook against one host with a private, throw-away inventory. */
export async function runPlaybook(name: PlaybookName, host: AnsibleHost, extraVars: Record<string, unknown>, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<PlaybookRun> {
  await requireCommand('ansible-playbook', 'ansible');
  if (host.password && !host.privateKey) await requireCommand('sshpass', 'sshpass');
  const dir = mkdtempSync(path.join(tmpdir(), 'bastion-ansible-'));
  chmodSync(dir, 0o700);
  try {
    const secretFile = (file: string, content: string) => {
      const p = path.join(dir, file);
      writeFileSync(p, content, { mode: 0o600 });
      return p;
    };
    const knownHosts = secretFile('known_hosts', `${host.port === 22 ? host.address : `[${host.address}]:${host.port}`} ${host.hostKey}\n`);
    const vars: Record<string, unknown> = {
      ansible_host: host.address,
      ansible_port: host.port,
      ansible_user: host.username,
      ansible_python_interpreter: 'auto_silent',
      ansible_ssh_common_args: `-o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o ControlMaster=no -o ControlPath=none`,
    };
    if (host.privateKey) {
      const key = host.privateKey.reveal();
      vars.ansible_ssh_private_key_file = secretFile('id_key', key.endsWith('\n') ? key : key + '\n');
    }
    if (host.password) {
      vars.ansible_password = host.password.reveal();
      vars.ansible_become_password = host.password.reveal();
    }
    // A fixed alias: no user text ever becomes an inventory host name.
    const inventory = secretFile('inventory.yml', `all:\n  hosts:\n    target:${unsafeYaml(vars, '      ')}\n`);
    const varsFile = secretFile('vars.yml', `---${Object.keys(extraVars).length ? unsafeYaml(extraVars) : ' {}'}\n`);
    const config = secretFile('ansible.cfg', '[defaults]\nretry_files_enabled = False\n');
    const execa = await loadExeca();
    const result = await execa('ansible-playbook', ['-i', inventory, '-e', `@${varsFile}`, path.join(PLAYBOOKS, `${name}.yml`)], {
      reject: false,
      timeout: opts.timeoutMs,
      ...(opts.signal ? { cancelSignal: opts.signal } : {}),
      cwd: dir,
      env: {
        ANSIBLE_CONFIG: config,
        ANSIBLE_STDOUT_CALLBACK: 'json',
        ANSIBLE_LOAD_CALLBACK_PLUGINS: '1',
        ANSIBLE_HOST_KEY_CHECKING: 'True',
        ANSIBLE_NOCOLOR: '1',
        ANSIBLE_LOCAL_TEMP: path.join(dir, 'tmp'),
        ANSIBLE_SSH_RETRIES: '0',
        ANSIBLE_TIMEOUT: '15',
        ANSIBLE_DEPRECATION_WARNINGS: 'False',
        ANSIBLE_COMMAND_WARNINGS: 'False',
        // Ansible keeps its local state under HOME: this run's private directory, removed after.
        HOME: dir,
      },
    });
    if (result.timedOut) return failure(`ansible-playbook timed out after ${Math.round(opts.timeoutMs / 1000)} s`);
    if (result.isCanceled) return failure('canceled');
    return parseJsonCallback(String(result.stdout), String(result.stderr));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function failure(message: string): PlaybookRun {
  return { ok: false, unreachable: false, tasks: [], facts: null, output: message };
}

interface CallbackTaskHost { failed?: boolean; unreachable?: boolean; changed?: boolean; skipped?: boolean; msg?: unknown; stderr?: string; ansible_facts?: Record<string, unknown> }
interface CallbackOutput {
  plays?: { tasks?: { task?: { name?: string }; hosts?: Record<string, CallbackTaskHost> }[] }[];
  stats?: Record<string, { failures?: number; unreachable?: number }>;
}

export function parseJsonCallback(stdout: string, stderr: string): PlaybookRun {
  const start = stdout.indexOf('{');
  let parsed: CallbackOutput;
  try {
    parsed = JSON.parse(stdout.slice(start)) as CallbackOutput;
  } catch {
    return failure(`ansible-playbook failed: ${(stderr || stdout).trim().split('\n').slice(-5).join(' ').slice(0, 1000)}`);
  }
  const tasks: PlaybookRun['tasks'] = [];
  let facts: Record<string, unknown> | null = null;
  for (const play of parsed.plays ?? []) {
    for (const t of play.tasks ?? []) {
      const h = t.hosts?.target;
      if (!h) continue;
      if (h.ansible_facts && Object.keys(h.ansible_facts).length > 0) facts = { ...(facts ?? {}), ...h.ansible_facts };
      const msg = typeof h.msg === 'string' ? h.msg : h.msg ? JSON.stringify(h.msg) : '';
      tasks.push({ name: t.task?.name ?? '', ok: !h.failed && !h.unreachable, changed: Boolean(h.changed), message: (msg || h.stderr || '').slice(0, 2000) });
    }
  }
  const stats = parsed.stats?.target ?? {};
  const unreachable = (stats.unreachable ?? 0) > 0;
  const ok = !unreachable && (stats.failures ?? 0) === 0 && tasks.length > 0;
  const failed = tasks.find((t) => !t.ok);
  const output = ok
    ? tasks.map((t) => `${t.changed ? 'changed' : 'ok'}: ${t.name}`).join('\n')
    : `${unreachable ? 'unreachable' : 'failed'}${failed ? ` at '${failed.name}'` : ''}: ${failed?.message ?? stderr.trim().slice(0, 1000)}`;
  return { ok, unreachable, tasks, facts, output };
}
