// Does an exec command (without a terminal) start a shell or an interpreter that takes its
// program from the operator's stdin? `echo 'rm -rf /' | ssh alice@web01@bastion bash` shows the
// command filters only `bash`; the lines that run arrive later as plain bytes. Such a session is
// refused while deny or confirm filters apply to it (see the gateway's channel pipeline).
//
// The command is read the way a POSIX shell would split it: quotes, backslashes and $'…' are
// undone (so `b''ash`, `\bash` and `$'\x62ash'` are bash), every simple command of every list,
// pipeline and compound is looked at (`true; cat | sh`), wrappers are looked through (`env`,
// `sudo`, `exec`, `nohup`, `timeout 5`, `xargs`, `busybox`, paths such as /usr/bin/python3.11),
// and shells' -c strings are read again. A program name or a -c string the bastion cannot know
// without running something (`$SHELL`, `$(which bash)`, globs, `eval`) is "ambiguous", which the
// gateway treats like an interpreter: refusing a doubtful case is the safe side of a guard.
//
// This is a guard rail against the obvious bypass, not a sandbox: a program that reads its
// input and acts on it can always be written or found on the asset.

export type StdinUse =
  | { kind: 'none' }
  | { kind: 'interpreter'; program: string }
  | { kind: 'ambiguous'; why: string };

const MAX_DEPTH = 6;
const MAX_COMMAND = 64 * 1024;

/** A shell's name, also with a version (`ksh93`, `bash5.2`). */
const isShell = (name: string): boolean => SHELLS.has(name) || SHELLS.has(name.replace(/[0-9.]+$/, ''));

/** Shells: their program is stdin unless -c or a script file is given. */
const SHELLS = new Set(['sh', 'bash', 'rbash', 'dash', 'ash', 'zsh', 'ksh', 'mksh', 'pdksh', 'oksh', 'lksh', 'yash', 'posh', 'fish', 'csh', 'tcsh', 'elvish', 'nu', 'xonsh', 'pwsh', 'rc', 'es']);
/** Other interpreters: `python3 -c code` is code on the command line (checked), `python3` or `python3 -` reads stdin. */
const LANGUAGES: Array<{ re: RegExp; code: string[]; stdinFlags: string[]; argFlags: string[] }> = [
  { re: /^(python|pypy|ipython|jython)[0-9.]*$/, code: ['-c'], stdinFlags: ['-i', '-m'], argFlags: ['-W', '-X', '-Q'] },
  { re: /^perl[0-9.]*$/, code: ['-e', '-E'], stdinFlags: ['-n', '-p', '-d'], argFlags: ['-I', '-M', '-m', '-x', '-i', '-0', '-l', '-C'] },
  { re: /^(ruby|irb|jruby)[0-9.]*$/, code: ['-e'], stdinFlags: ['-n', '-p'], argFlags: ['-I', '-r', '-C', '-E', '-K', '-T', '-x', '-0', '-F'] },
  { re: /^(node|nodejs|deno|bun)[0-9.]*$/, code: ['-e', '--eval', '-p', '--print'], stdinFlags: ['-i', '--interactive'], argFlags: ['-r', '--require', '--import', '--loader'] },
  { re: /^php[0-9.]*(-cli)?$/, code: ['-r'], stdinFlags: ['-a', '-B', '-R', '-F', '-E'], argFlags: ['-c', '-d', '-z'] },
  { re: /^(lua|luajit|texlua)[0-9.]*$/, code: ['-e'], stdinFlags: ['-i'], argFlags: ['-l'] },
  { re: /^(tclsh|wish|expect|jimsh)[0-9.]*$/, code: ['-c'], stdinFlags: ['-i'], argFlags: [] },
  { re: /^(awk|gawk|mawk|nawk|busybox-awk)$/, code: [], stdinFlags: [], argFlags: ['-F', '-v', '-f', '-e', '-i', '-l', '-W'] },
  { re: /^(Rscript|R|julia|guile|racket|sbcl|clisp|ghci|scala|groovy|jshell|erl|elixir|iex|ocaml|swift|osascript|bc|dc|gdb|lldb|sqlite3|mysql|mariadb|psql|ed|ex|vi|vim|nvim|emacs|tmux|screen|ftp|telnet|cmd|powershell)$/, code: [], stdinFlags: [], argFlags: [] },
];
/**
 * Code on the command line that reads stdin anyway (`python3 -c 'exec(input())'`), or starts a
 * program that inherits it (`python3 -c 'import pty; pty.spawn("bash")'`, `perl -e 'exec "sh"'`).
 */
const READS_STDIN = /stdin|input\s*\(|readline|getline|\bgets\b|<>|<&|\$<|ARGF|io\.(read|lines)|php:\/\/|\/dev\/|\/proc\/|fd\/0|fileinput|\(\s*["']?0["']?\s*[,)]|\bsystem\b|\|/i;
const STARTS_PROGRAM = /\bexec(l|le|lp|lpe|v|ve|vp|vpe)?\b|spawn|popen|subprocess|child_process|\bpty\b|\bfork\b|`|%x|\bos\.system|\bpcntl_|\bproc_open|\bshell_exec|\bpassthru/i;
/** Paths that are the process's stdin. */
const STDIN_FILE = /^(-|\/dev\/stdin|\/dev\/fd\/0|\/proc\/self\/fd\/0|\/proc\/\d+\/fd\/0|\/dev\/tty)$/;

interface Word {
  text: string;
  /** Contains an expansion or a glob whose value is only known when run. */
  dynamic: boolean;
}

type Token = { op: string } | { word: Word };

/** Reads an exec command and says whether its program comes from stdin. */
export function stdinInterpreter(command: string): StdinUse {
  if (command.length > MAX_COMMAND) return { kind: 'ambiguous', why: 'the command is too long to read' };
  return readCommand(command, 0);
}

/** True for the uses the gateway refuses (an interpreter, or a case it cannot read). */
export function usesStdinProgram(use: StdinUse): boolean {
  return use.kind !== 'none';
}

/** One line for the operator. */
export function describeStdinUse(use: StdinUse): string {
  if (use.kind === 'interpreter') return `'${use.program}' would read its commands from stdin, where command filters cannot check them`;
  if (use.kind === 'ambiguous') return `the program it runs cannot be told before it runs (${use.why}); it could read its commands from stdin, where command filters cannot check them`;
  return '';
}

function readCommand(command: string, depth: number): StdinUse {
  if (depth > MAX_DEPTH) return { kind: 'ambiguous', why: 'nested too deeply' };
  let tokens: Token[];
  const subs: string[] = [];
  try {
    tokens = tokenize(command, subs);
  } catch (err) {
    return { kind: 'ambiguous', why: (err as Error).message };
  }
  // $(…) and `…` run commands too, with the same stdin.
  for (const sub of subs) {
    const found = readCommand(sub, depth + 1);
    if (found.kind !== 'none') return found;
  }
  let words: Word[] = [];
  let redirect = false;
  const flush = (): StdinUse => {
    const found = words.length ? simpleCommand(words, depth) : { kind: 'none' as const };
    words = [];
    return found;
  };
  for (const t of tokens) {
    if ('op' in t) {
      if (REDIRECTIONS.has(t.op)) {
        redirect = true;
        continue;
      }
      redirect = false;
      const found = flush();
      if (found.kind !== 'none') return found;
      continue;
    }
    if (redirect) {
      redirect = false;
      continue;
    }
    // Reserved words start a new command: `if bash; then …`, `while read; do sh; done`.
    if (words.length === 0 && RESERVED.has(t.word.text) && !t.word.dynamic) continue;
    words.push(t.word);
  }
  return flush();
}

const REDIRECTIONS = new Set(['<', '>', '>>', '<<', '<<-', '<<<', '<>', '>|', '<&', '>&', '&>', '&>>']);
const RESERVED = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', 'for', 'in', 'case', 'esac', 'select', 'function', '!', '{', '}', '[[', ']]', 'time', 'coproc']);

/** Wrappers whose arguments are another command; value: options that take an argument. */
const WRAPPERS: Record<string, { argOpts: string[]; positional?: number }> = {
  exec: { argOpts: ['-a'] },
  command: { argOpts: [] },
  builtin: { argOpts: [] },
  nohup: { argOpts: [] },
  nice: { argOpts: ['-n', '--adjustment'] },
  ionice: { argOpts: ['-c', '-n', '-p', '-P', '-u', '--class', '--classdata'] },
  time: { argOpts: ['-f', '-o', '--format', '--output'] },
  timeout: { argOpts: ['-k', '-s', '--kill-after', '--signal'], positional: 1 },
  stdbuf: { argOpts: ['-i', '-o', '-e'] },
  setsid: { argOpts: [] },
  taskset: { argOpts: [], positional: 1 },
  chrt: { argOpts: [], positional: 1 },
  flock: { argOpts: ['-w', '-E', '--timeout', '--conflict-exit-code'], positional: 1 },
  chroot: { argOpts: ['--userspec', '--groups'], positional: 1 },
  unbuffer: { argOpts: [] },
  sudo: { argOpts: ['-u', '-g', '-C', '-D', '-h', '-p', '-r', '-t', '-T', '-U', '--user', '--group', '--chdir', '--host', '--prompt', '--role', '--type', '--other-user', '--close-from', '--command-timeout'] },
  doas: { argOpts: ['-u', '-C'] },
  run0: { argOpts: ['-u', '--user', '-g', '--group', '-D', '--chdir'] },
  env: { argOpts: ['-u', '-C', '--unset', '--chdir'] },
  xargs: { argOpts: ['-a', '-d', '-E', '-e', '-I', '-i', '-L', '-l', '-n', '-P', '-s', '--arg-file', '--delimiter', '--max-args', '--max-procs', '--max-chars', '--max-lines', '--replace', '--eof', '--process-slot-var'] },
  parallel: { argOpts: ['-j', '-S', '--jobs', '--sshlogin', '-a', '--arg-file'] },
  watch: { argOpts: ['-n', '-d', '--interval'] },
  strace: { argOpts: ['-e', '-o', '-p', '-s', '-u'] },
  ltrace: { argOpts: ['-e', '-o', '-p', '-s', '-u'] },
  catchsegv: { argOpts: [] },
  firejail: { argOpts: [] },
  proot: { argOpts: ['-r', '-b', '-w'] },
  unshare: { argOpts: ['-S', '-G', '-R', '-w', '--setuid', '--setgid', '--root', '--wd'] },
  nsenter: { argOpts: ['-t', '-S', '-G', '-r', '-w', '--target', '--setuid', '--setgid', '--root', '--wd'] },
  setpriv: { argOpts: ['--reuid', '--regid', '--groups', '--inh-caps', '--bounding-set', '--securebits', '--selinux-label', '--apparmor-profile'] },
  pkexec: { argOpts: ['--user'] },
  fakeroot: { argOpts: ['-l', '-s', '-i', '--lib', '--faked'] },
  faketime: { argOpts: [], positional: 1 },
  torsocks: { argOpts: [] },
  sshpass: { argOpts: ['-p', '-f', '-d', '-P'] },
  proxychains: { argOpts: ['-f'] },
  proxychains4: { argOpts: ['-f'] },
  rlwrap: { argOpts: ['-a', '-b', '-f', '-H', '-l', '-p', '-P', '-S'] },
  'ssh-agent': { argOpts: ['-a', '-E', '-t', '-P'] },
  'dbus-launch': { argOpts: [] },
  'dbus-run-session': { argOpts: [] },
  numactl: { argOpts: ['-C', '-N', '-m', '-p', '-i', '--physcpubind', '--cpunodebind', '--membind', '--preferred', '--interleave'] },
  setarch: { argOpts: [], positional: 1 },
  linux32: { argOpts: [] },
  linux64: { argOpts: [] },
  valgrind: { argOpts: [] },
  'systemd-run': { argOpts: ['-u', '-p', '--unit', '--property', '--uid', '--gid', '-E', '--setenv'] },
};
/** These feed stdin to the command they run as its arguments: any interpreter under them is driven by stdin. */
const STDIN_FEEDERS = new Set(['xargs', 'parallel']);

function simpleCommand(all: Word[], depth: number, fedByStdin = false): StdinUse {
  let words = all;
  // Leading assignments (FOO=bar bash) do not run anything.
  while (words.length && /^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=/.test(words[0]!.text)) words = words.slice(1);
  if (words.length === 0) return { kind: 'none' };
  const first = words[0]!;
  if (first.dynamic) return { kind: 'ambiguous', why: `the program name '${first.text.slice(0, 40)}' is computed` };
  const name = programName(first.text);
  const args = words.slice(1);
  if (name === 'eval') return args.some((w) => w.dynamic) ? { kind: 'ambiguous', why: 'eval of computed text' } : readCommand(args.map((w) => w.text).join(' '), depth + 1);
  if (name === '.' || name === 'source') {
    const file = args[0];
    if (!file || file.dynamic || STDIN_FILE.test(file.text)) return { kind: 'interpreter', program: name };
    return { kind: 'none' };
  }
  if (name === 'busybox' || name === 'toybox') return args.length ? simpleCommand(args, depth, fedByStdin) : { kind: 'none' };
  if (name === 'su' || name === 'runuser' || name === 'sg' || name === 'newgrp' || name === 'ssh' || name === 'script' || name === 'login') return suLike(name, args, depth);
  if (name === 'sudo' || name === 'doas' || name === 'run0') {
    // sudo -s / -i / doas -s without a command start the target user's shell on stdin.
    const rest = afterOptions(args, WRAPPERS[name]!.argOpts, 0);
    const shellFlag = args.slice(0, args.length - rest.length).some((w) => /^-[a-zA-Z]*[si]/.test(w.text) || w.text === '--shell' || w.text === '--login');
    if (rest.length === 0) return shellFlag ? { kind: 'interpreter', program: `${name} -s` } : { kind: 'none' };
    return simpleCommand(rest, depth, fedByStdin);
  }
  if (name === 'env') {
    if (args.some((w) => /^-[a-zA-Z]*S/.test(w.text) || w.text.startsWith('--split-string'))) return { kind: 'ambiguous', why: 'env -S splits a string into a command' };
    return simpleCommand(afterOptions(args, WRAPPERS.env!.argOpts, 0), depth, fedByStdin);
  }
  if (name === 'watch') return readCommand(afterOptions(args, WRAPPERS.watch!.argOpts, 0).map((w) => w.text).join(' '), depth + 1);
  const wrapper = WRAPPERS[name];
  if (wrapper) {
    const rest = afterOptions(args, wrapper.argOpts, wrapper.positional ?? 0);
    return simpleCommand(rest, depth, fedByStdin || STDIN_FEEDERS.has(name));
  }
  if (isShell(name)) return shell(name, args, depth, fedByStdin);
  // socat's EXEC:/SYSTEM: addresses and netcat's -e/-c run a program on socat's/nc's stdin.
  if (name === 'socat' && args.some((w) => w.dynamic || /^(exec|system)[:,]/i.test(w.text) || /[!,](exec|system):/i.test(w.text))) return { kind: 'interpreter', program: 'socat' };
  if (/^(nc|ncat|netcat|nc\.traditional|nc\.openbsd)$/.test(name) && args.some((w) => w.dynamic || /^-[a-zA-Z]*[ec]/.test(w.text) || /^--(exec|sh-exec|lua-exec)/.test(w.text))) return { kind: 'interpreter', program: name };
  // make -f - reads its recipes (commands) from stdin.
  if ((name === 'make' || name === 'gmake') && args.some((w, i) => (w.text === '-f' || w.text === '--file' || w.text === '--makefile') && (!args[i + 1] || STDIN_FILE.test(args[i + 1]!.text)))) return { kind: 'interpreter', program: `${name} -f -` };
  // tar runs programs of its own: --checkpoint-action=exec=…, --to-command, --use-compress-program.
  if (name === 'tar' && args.some((w) => /^--(checkpoint-action=exec|to-command|use-compress-program|info-script|new-volume-script|rsh-command)|^-[a-zA-Z]*[IF]$/.test(w.text))) return { kind: 'ambiguous', why: 'tar may run a program' };
  for (const lang of LANGUAGES) if (lang.re.test(name)) return language(name, lang, args, fedByStdin);
  if (name === 'sed' || name === 'gsed') return sed(args);
  if (name === 'capsh') return { kind: 'ambiguous', why: 'capsh starts a shell' };
  // at/batch read the commands they schedule from stdin (unless -f file); crontab installs stdin as the crontab.
  if (name === 'at' || name === 'batch') return args.some((w) => w.text === '-f' || /^-[lqrdc]/.test(w.text)) ? { kind: 'none' } : { kind: 'interpreter', program: name };
  if (name === 'crontab' && !args.some((w) => /^-[lre]$/.test(w.text)) && args.every((w) => w.text.startsWith('-') || STDIN_FILE.test(w.text))) return { kind: 'interpreter', program: 'crontab' };
  // A program this reader does not know, given a shell's name as an argument (`unshare bash`,
  // `fakeroot sh`, `find . -exec sh \;`): it may well run it. Programs that only print or look
  // up names (`echo bash`, `grep bash /etc/shells`, `which python3`) are let through.
  if (!NAMES_ONLY.has(name)) {
    const named = args.find((w) => !w.text.startsWith('-') && (isShell(programName(w.text)) || LANGUAGES.some((l) => l.re.test(programName(w.text)))));
    if (named) return { kind: 'ambiguous', why: `${name} may run '${programName(named.text)}'` };
  }
  return { kind: 'none' };
}

/** Programs whose arguments are names or text, never something they run. */
const NAMES_ONLY = new Set([
  'echo', 'printf', 'grep', 'egrep', 'fgrep', 'rg', 'ag', 'man', 'info', 'which', 'whereis', 'whatis', 'apropos', 'type', 'hash', 'ls', 'cat', 'less', 'more',
  'head', 'tail', 'file', 'stat', 'readlink', 'realpath', 'basename', 'dirname', 'dpkg', 'dpkg-query', 'apt', 'apt-get', 'apt-cache', 'yum', 'dnf', 'rpm',
  'pacman', 'zypper', 'apk', 'snap', 'pip', 'pip3', 'npm', 'chsh', 'usermod', 'useradd', 'id', 'getent', 'locate', 'pgrep', 'pkill', 'killall', 'pidof',
  'ps', 'kill', 'systemctl', 'journalctl', 'update-alternatives', 'ln', 'cp', 'mv', 'rm', 'chmod', 'chown', 'touch', 'mkdir', 'wc', 'sort', 'uniq', 'cut',
  'tr', 'diff', 'cmp', 'md5sum', 'sha256sum', 'sha1sum', 'tar', 'gzip', 'zip', 'unzip', 'test', '[', '[[', 'true', 'false', 'alias', 'unalias', 'export',
  'set', 'unset', 'declare', 'local', 'readonly', 'shift', 'return', 'exit', 'cd', 'pushd', 'popd', 'dirs', 'history', 'ldd', 'objdump', 'strings', 'nm',
]);

/** GNU sed's `e` command and `s///e` flag run text as a command; a script from stdin is stdin. */
function sed(args: Word[]): StdinUse {
  for (let i = 0; i < args.length; i++) {
    const w = args[i]!;
    if (w.dynamic) return { kind: 'ambiguous', why: 'sed with a computed script' };
    const t = w.text;
    if (t === '-f' || t === '--file') {
      const file = args[i + 1];
      if (!file || STDIN_FILE.test(file.text)) return { kind: 'interpreter', program: 'sed -f' };
      i++;
      continue;
    }
    const script = t === '-e' || t === '--expression' ? args[++i]?.text ?? '' : t.startsWith('-') ? '' : t;
    if (/(^|[;{}\n]|\d|\$|\/)\s*e(\s|$|;|})|\/[gpiImMw0-9]*e[gpiImM0-9]*\s*($|;|})/.test(script)) return { kind: 'interpreter', program: 'sed e' };
    if (!t.startsWith('-') && !(args[i - 1]?.text === '-e')) break;
  }
  return { kind: 'none' };
}

/** A shell: `-c string` is read again; `-s`, `-i`, no operand or a stdin path read stdin. */
function shell(name: string, args: Word[], depth: number, fedByStdin: boolean): StdinUse {
  let command: Word | null = null;
  let wantsCommand = false;
  for (let i = 0; i < args.length; i++) {
    const w = args[i]!;
    if (w.dynamic && !wantsCommand) return { kind: 'ambiguous', why: `${name} with a computed argument` };
    if (wantsCommand) {
      command = w;
      break;
    }
    const t = w.text;
    if (t === '--') {
      const operand = args[i + 1];
      return operand && !operand.dynamic && !STDIN_FILE.test(operand.text) && !fedByStdin ? { kind: 'none' } : { kind: 'interpreter', program: name };
    }
    if (/^--(rcfile|init-file)$/.test(t) || t === '-o' || t === '+o' || t === '-O' || t === '+O') {
      i++;
      continue;
    }
    if (/^--(command)$/.test(t)) {
      wantsCommand = true;
      continue;
    }
    if (t.startsWith('--')) continue;
    if (/^[-+][a-zA-Z]+$/.test(t)) {
      if (/^-[a-zA-Z]*[si]/.test(t) && !t.includes('c')) return { kind: 'interpreter', program: `${name} ${t}` };
      if (t.startsWith('-') && t.includes('c')) wantsCommand = true;
      continue;
    }
    // The first operand is a script file to run, unless it is stdin itself.
    if (STDIN_FILE.test(t) || fedByStdin) return { kind: 'interpreter', program: `${name} ${t}` };
    return { kind: 'none' };
  }
  if (wantsCommand) {
    if (!command) return { kind: 'interpreter', program: name };
    if (fedByStdin) return { kind: 'interpreter', program: `${name} -c` };
    if (command.dynamic) return { kind: 'ambiguous', why: `${name} -c with a computed command` };
    return readCommand(command.text, 1 + depth);
  }
  return { kind: 'interpreter', program: name };
}

function language(name: string, lang: { code: string[]; stdinFlags: string[]; argFlags: string[] }, args: Word[], fedByStdin: boolean): StdinUse {
  const awk = /awk$/.test(name);
  for (let i = 0; i < args.length; i++) {
    const w = args[i]!;
    if (w.dynamic) return { kind: 'ambiguous', why: `${name} with a computed argument` };
    const t = w.text;
    if (lang.code.includes(t) || lang.code.some((c) => c.length === 2 && t.startsWith(c) && t.length > 2 && !t.startsWith('--'))) {
      const code = lang.code.includes(t) ? args[i + 1] : { text: t.slice(2), dynamic: false };
      if (!code || code.dynamic || READS_STDIN.test(code.text) || STARTS_PROGRAM.test(code.text) || fedByStdin) return { kind: 'interpreter', program: `${name} ${t.slice(0, 2)}` };
      // Flags such as perl -n / -p run the code for each line of stdin.
      if (args.slice(0, i).some((a) => lang.stdinFlags.some((f) => a.text === f || (f.length === 2 && /^-[a-zA-Z]+$/.test(a.text) && a.text.includes(f[1]!))))) return { kind: 'interpreter', program: name };
      return { kind: 'none' };
    }
    if (lang.stdinFlags.some((f) => t === f || (f.length === 2 && f[1] !== '-' && /^-[a-zA-Z]+$/.test(t) && t.includes(f[1]!)))) return { kind: 'interpreter', program: `${name} ${t}` };
    if (lang.argFlags.includes(t)) {
      if (awk && (t === '-f') && (!args[i + 1] || STDIN_FILE.test(args[i + 1]!.text))) return { kind: 'interpreter', program: `${name} -f` };
      i++;
      continue;
    }
    if (t === '--') continue;
    if (t.startsWith('-') && t !== '-') continue;
    if (awk) return READS_STDIN.test(t) || fedByStdin ? { kind: 'interpreter', program: name } : { kind: 'none' };
    // The first operand is the script file.
    return STDIN_FILE.test(t) || fedByStdin ? { kind: 'interpreter', program: `${name} ${t}` } : { kind: 'none' };
  }
  return { kind: 'interpreter', program: name };
}

/** su / runuser / ssh / script: `-c command` is read again; without one they start a shell on stdin. */
function suLike(name: string, args: Word[], depth: number): StdinUse {
  if (name === 'ssh') {
    // ssh [options] host [command]: the command runs on another host, through its shell.
    const rest = afterOptions(args, ['-b', '-c', '-D', '-E', '-e', '-F', '-I', '-i', '-J', '-L', '-l', '-m', '-O', '-o', '-p', '-Q', '-R', '-S', '-W', '-w', '-B'], 1);
    if (rest.length === 0) return { kind: 'interpreter', program: 'ssh' };
    return rest.some((w) => w.dynamic) ? { kind: 'ambiguous', why: 'ssh with a computed command' } : readCommand(rest.map((w) => w.text).join(' '), depth + 1);
  }
  for (let i = 0; i < args.length; i++) {
    const w = args[i]!;
    if (w.text === '-c' || w.text === '--command' || w.text === '--session-command' || (name === 'script' && w.text === '-qc')) {
      const cmd = args[i + 1];
      if (!cmd || cmd.dynamic) return { kind: 'ambiguous', why: `${name} -c with a computed command` };
      return readCommand(cmd.text, depth + 1);
    }
    if (w.text.startsWith('--command=')) return readCommand(w.text.slice('--command='.length), depth + 1);
    if (w.text === '-s' || w.text === '--shell') i++;
  }
  return { kind: 'interpreter', program: name };
}

/** The arguments after a wrapper's options and its first `positional` operands. */
function afterOptions(args: Word[], argOpts: string[], positional: number): Word[] {
  let i = 0;
  while (i < args.length) {
    const t = args[i]!.text;
    if (t === '--') {
      i++;
      break;
    }
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(t)) {
      i++;
      continue;
    }
    if (!t.startsWith('-') || t === '-') break;
    i += argOpts.includes(t) ? 2 : 1;
  }
  return args.slice(Math.min(args.length, i + positional));
}

/** `/usr/bin/python3.11` → `python3.11`; `-bash` (a login shell's argv[0]) → `bash`. */
function programName(text: string): string {
  const base = text.slice(text.lastIndexOf('/') + 1);
  return base.replace(/^-/, '');
}

/** Splits a command like a POSIX shell: operators, and words with quotes removed. */
function tokenize(src: string, subs: string[]): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = src.length;
  const OPS = ['&&', '||', ';;', '|&', '&>>', '&>', '<<<', '<<-', '<<', '>>', '<>', '>|', '<&', '>&', ';', '&', '|', '(', ')', '<', '>', '\n'];
  while (i < n) {
    const c = src[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    // A file descriptor number before a redirection (2>&1) belongs to the operator.
    const fd = /^\d+(?=[<>])/.exec(src.slice(i, i + 12));
    if (fd) i += fd[0].length;
    const op = OPS.find((o) => src.startsWith(o, i));
    if (op) {
      out.push({ op });
      i += op.length;
      continue;
    }
    let text = '';
    let dynamic = false;
    const start = i;
    while (i < n) {
      const ch = src[i]!;
      if (' \t\n;&|()<>'.includes(ch)) break;
      if (ch === '\\') {
        if (src[i + 1] !== '\n') text += src[i + 1] ?? '';
        i += 2;
      } else if (ch === "'") {
        const end = src.indexOf("'", i + 1);
        if (end < 0) throw new Error('an unterminated quote');
        text += src.slice(i + 1, end);
        i = end + 1;
      } else if (ch === '$' && src[i + 1] === "'") {
        const [value, next] = ansiC(src, i + 2);
        text += value;
        i = next;
      } else if (ch === '"') {
        i++;
        while (i < n && src[i] !== '"') {
          const d = src[i]!;
          if (d === '\\' && '$`"\\\n'.includes(src[i + 1] ?? '')) {
            if (src[i + 1] !== '\n') text += src[i + 1];
            i += 2;
            continue;
          }
          if (d === '$' || d === '`') dynamic = true;
          if ((d === '$' && src[i + 1] === '(') || d === '`') {
            const end = d === '`' ? closingTick(src, i) : matching(src, i + 1);
            subs.push(d === '`' ? src.slice(i + 1, end - 1) : src.slice(i + 2, end - 1));
            text += src.slice(i, end);
            i = end;
            continue;
          }
          text += d;
          i++;
        }
        if (i >= n) throw new Error('an unterminated quote');
        i++;
      } else {
        if ('$`*?[{~'.includes(ch)) dynamic = dynamic || ch !== '~' || text === '';
        if (ch === '$' && src[i + 1] === '(') {
          // Skip a command substitution as one piece of this word.
          const end = matching(src, i + 1);
          subs.push(src.slice(i + 2, end - 1));
          text += src.slice(i, end);
          i = end;
          dynamic = true;
          continue;
        }
        if (ch === '`') {
          const end = closingTick(src, i);
          subs.push(src.slice(i + 1, end - 1));
          text += src.slice(i, end);
          i = end;
          dynamic = true;
          continue;
        }
        text += ch;
        i++;
      }
    }
    // `~`, `[`, `[[`, `{`, `}` alone are a home directory, the test command and reserved words.
    if (/^(~|\[\[?|\]\]?|\{|\})$/.test(text) && !/[$`"']/.test(src.slice(start, i))) dynamic = false;
    out.push({ word: { text, dynamic } });
  }
  return out;
}

/** The index just after the backquote closing the one at i. */
function closingTick(src: string, i: number): number {
  const end = src.indexOf('`', i + 1);
  if (end < 0) throw new Error('an unterminated `');
  return end + 1;
}

/** The index just after the `)` matching the `(` at i. */
function matching(src: string, i: number): number {
  let depth = 0;
  for (let j = i; j < src.length; j++) {
    if (src[j] === '(') depth++;
    else if (src[j] === ')' && --depth === 0) return j + 1;
  }
  throw new Error('an unterminated $(');
}

/** $'…' (bash's ANSI-C quoting): the value and the index after the closing quote. */
function ansiC(src: string, i: number): [string, number] {
  let out = '';
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?' };
  while (i < src.length && src[i] !== "'") {
    const c = src[i]!;
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const e = src[i + 1] ?? '';
    const hex = /^x([0-9a-fA-F]{1,2})/.exec(src.slice(i + 1, i + 4));
    const oct = /^([0-7]{1,3})/.exec(src.slice(i + 1, i + 4));
    const uni = /^[uU]([0-9a-fA-F]{1,8})/.exec(src.slice(i + 1, i + 10));
    if (hex) {
      out += String.fromCharCode(parseInt(hex[1]!, 16));
      i += 1 + hex[0].length;
    } else if (uni) {
      out += String.fromCodePoint(Math.min(parseInt(uni[1]!, 16), 0x10ffff));
      i += 1 + uni[0].length;
    } else if (oct) {
      out += String.fromCharCode(parseInt(oct[1]!, 8) & 0xff);
      i += 1 + oct[0].length;
    } else if (e === 'c') {
      out += String.fromCharCode((src.charCodeAt(i + 2) || 0) & 0x1f);
      i += 3;
    } else {
      out += simple[e] ?? `\\${e}`;
      i += 2;
    }
  }
  if (i >= src.length) throw new Error('an unterminated quote');
  return [out, i + 1];
}
