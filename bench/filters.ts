/**
 * Command filter benchmark (issue 11, item 3): how long the gateway takes to decide one command
 * line against the command filters, for lines of 100 KiB made to hurt a backtracking matcher.
 * Target: < 5 ms per 100 KiB line, every line, with a realistic set of filters applying.
 *
 * It times CommandFilterService.check, the code the gateway and "Try a command" both run,
 * over 24 filters (command lists and admin regexes, `^(a+)+$` among them), all scoped to the
 * session, so every line is tested against every filter (no filter matches these lines).
 * For comparison it also times the backtracking JavaScript regex that command lists compiled
 * to before RE2, on the short `sudo -u x env -i time …` lines that stalled it, and the worst
 * patterns: one whose automaton outgrows RE2's DFA cache (it would be matched by the NFA, ~1 s
 * per 100 KiB) is refused at creation; the largest accepted ones are timed, cold and warm.
 *
 * Run: npm run bench -- filters   [FILTERS_RUNS=50]
 */
import { pathToFileURL } from 'node:url';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { startBastion } from '../test/helpers/bastion.ts';
import { factories } from '../test/helpers/factories.ts';
import { cleanup } from '../test/helpers/tmp.ts';

const KIB100 = 100 * 1024;

function fill(unit: string, size = KIB100): string {
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

/** 100 KiB lines: the adversarial ones for each kind of pattern, and plain shell text. */
const LINES: Array<[string, string]> = [
  ['sudo -u x env -i time … y', `${fill('sudo -u x env -i time ', KIB100 - 1)}y`],
  ['a…ab (vs ^(a+)+$)', `${fill('a', KIB100 - 1)}b`],
  ['separators ;&|({`', fill(';&|({`$(')],
  ['spaces', `${fill(' ', KIB100 - 2)}ls`],
  ['path slashes /x/x/…', fill('/x')],
  ['shell text', fill('for f in /var/log/*.log; do grep -c ERROR "$f" | tee -a /tmp/counts; done && echo ok; ')],
  ['unicode text', fill('echo \u4f60\u597d\u00a0\u3000w\u00f6rld; ')],
  ['one long word', fill('abcdefghij')],
];

/** The command-list regex as it was before RE2: backtracking, with a lookahead. */
function legacyCommandList(pattern: string): RegExp {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const alternatives = pattern.split(/[\n,]/).map((s) => s.trim()).filter(Boolean).map((e) => e.split(/\s+/).map(escape).join('\\s+')).join('|');
  return new RegExp(`(?:^|[;&|({\`]|\\$\\()\\s*(?:(?:sudo|exec|command|nohup|time|env)(?:\\s+-\\S+(?:\\s+[^-\\s]\\S*)?)*\\s+)*(?:\\S*/)?(?:${alternatives})(?=$|[\\s;&|)}\`])`, 'm');
}

function stats(ms: number[]): { median: number; p95: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, p95: s[Math.floor(s.length * 0.95)]!, max: s[s.length - 1]! };
}

export async function runFiltersBench(): Promise<{ worstCpuP95Ms: number }> {
  const runs = Number(process.env.FILTERS_RUNS ?? 50);
  const b = await startBastion({ http: false });
  try {
    const f = factories(b.services);
    const user = await f.user();
    const asset = await f.asset();
    const systemUser = await f.systemUser();
    const lists = ['rm -rf, mkfs, dd', 'shutdown, reboot, halt, poweroff, init 0', 'iptables -F, nft flush', 'chmod -R 777', 'userdel, passwd root',
      'kill -9 1', 'crontab -r', 'systemctl stop sshd', 'mv /etc', 'truncate -s 0', 'curl | sh', 'wget -O- | bash'];
    const regexes = ['^(a+)+$', '(x+x+)+y', '>\\s*/dev/sd[a-z]', '\\brm\\s+(-[a-zA-Z]*r[a-zA-Z]*\\s+)*/\\s*$', '(?i)drop\\s+(table|database)',
      ':\\(\\)\\s*\\{\\s*:\\|:&\\s*\\};:', '\\bnc\\b.*-e', '^\\s*history\\s+-c', 'base64\\s+-d.*\\|\\s*(ba)?sh', '/etc/(shadow|sudoers)',
      '(\\w+\\s*)+;\\s*rm', '[^\\n]*(sudo\\s+){3,}'];
    let priority = 1;
    for (const pattern of lists) {
      await b.services.commandFilters.create(SYSTEM_ACTOR, { name: `list-${priority}`, kind: 'commands', pattern, action: 'deny', priority: priority++, users: [user.id] });
    }
    for (const pattern of regexes) {
      await b.services.commandFilters.create(SYSTEM_ACTOR, { name: `regex-${priority}`, kind: 'regex', pattern, action: 'deny', priority: priority++, users: [user.id] });
    }
    const ctx = { userId: user.id, assetId: asset.id, systemUserId: systemUser.id };
    await b.services.commandFilters.check(ctx, 'warm up');
    console.log(`\nfilters bench: ${lists.length + regexes.length} filters applying, ${runs} runs per 100 KiB line, CommandFilterService.check (RE2 via re2js)`);
    // Wall time suffers from whatever else the machine runs; CPU time (this process, user +
    // system) is the work the check itself costs. Both are shown.
    console.log(`(machine load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)})`);
    console.log('line                          verdict   wall: median    p95     max   cpu: median    p95     max  (ms)');
    let worstCpuP95 = 0;
    for (const [name, line] of LINES) {
      const wall: number[] = [];
      const cpu: number[] = [];
      let verdict = '';
      for (let i = 0; i < runs; i++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        verdict = (await b.services.commandFilters.check(ctx, line)).action;
        wall.push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1000);
      }
      const w = stats(wall);
      const c = stats(cpu);
      worstCpuP95 = Math.max(worstCpuP95, c.p95);
      const f = (n: number) => n.toFixed(2).padStart(8);
      console.log(`${name.padEnd(30)}${verdict.padEnd(10)}    ${f(w.median)}${f(w.p95)}${f(w.max)}     ${f(c.median)}${f(c.p95)}${f(c.max)}`);
    }
    console.log(`worst p95 CPU time: ${worstCpuP95.toFixed(2)} ms per 100 KiB line (target < 5 ms): ${worstCpuP95 < 5 ? 'met' : 'NOT met'}`);
    console.log('\nthe worst patterns RE2 is given: one whose automaton outgrows the DFA cache would fall back to the NFA');
    console.log('(~1 s per 100 KiB) and is refused at creation; the largest ones accepted, on 100 KiB lines that visit');
    console.log('as many automaton states as they can (random [ab;], every entry of the list); CPU ms:');
    let seed = 1;
    const abc = Array.from({ length: KIB100 }, () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const r = (seed >> 16) % 7;
      return r < 3 ? 'a' : r < 6 ? 'b' : ';';
    }).join('');
    const list200 = Array.from({ length: 200 }, (_, i) => `c${i}`);
    const listLine = fill(list200.map((c, i) => `${i % 3 ? 'sudo -u x ' : ''}/bin/${c}x; `).join(''));
    const worst: Array<[string, 'regex' | 'commands', string]> = [
      ['a[ab;]{200}[ab]{5}$', 'regex', abc], ['a[ab;]{12}[ab]{5}$', 'regex', abc], ['a[ab;]{7}[ab]{5}$', 'regex', abc], ['a[ab;]{5}[ab]{5}$', 'regex', abc],
      ['[^x]{999}x', 'regex', abc], ['(a|b|;){500}$', 'regex', abc], ['200-entry command list', 'commands', listLine],
    ];
    let worstAccepted = { name: '', cpu: 0 };
    for (const [name, kind, line] of worst) {
      const pattern = kind === 'commands' ? list200.join('\n') : name;
      let id: string;
      try {
        id = (await b.services.commandFilters.create(SYSTEM_ACTOR, { name: `hostile-${name}`, kind, pattern, action: 'deny', priority: 99, users: [user.id] })).id;
      } catch (e) {
        console.log(`  ${name.padEnd(24)} refused: ${(e as Error).message.slice(0, 60)}…`);
        continue;
      }
      // The first check after a change compiles the filter (and builds its automaton): timed apart.
      const k0 = process.cpuUsage();
      await b.services.commandFilters.check(ctx, 'warm up');
      const k = process.cpuUsage(k0);
      const cpu: number[] = [];
      for (let i = 0; i < 6; i++) {
        const c0 = process.cpuUsage();
        await b.services.commandFilters.check(ctx, line);
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1000);
      }
      await b.services.commandFilters.remove(SYSTEM_ACTOR, id);
      const s = stats(cpu.slice(1));
      if (s.max > worstAccepted.cpu) worstAccepted = { name, cpu: s.max };
      console.log(`  ${name.padEnd(24)} accepted: compile ${((k.user + k.system) / 1000).toFixed(1)} ms; cpu first line ${cpu[0]!.toFixed(1)} ms, then median ${s.median.toFixed(2)} ms, max ${s.max.toFixed(2)} ms`);
    }
    console.log(`worst accepted pattern: ${worstAccepted.name}, ${worstAccepted.cpu.toFixed(2)} ms CPU per 100 KiB line once its automaton is built`);
    console.log('\nbefore RE2, the backtracking command-list regex (rm -rf, shutdown, reboot) on `sudo -u x env -i time ` × n + `y`:');
    const legacy = legacyCommandList('rm -rf\nshutdown, reboot');
    for (const n of [10, 14, 16, 18]) {
      const line = `${'sudo -u x env -i time '.repeat(n)}y`;
      const t0 = performance.now();
      legacy.test(line);
      console.log(`  n = ${String(n).padStart(2)} (${line.length} chars): ${(performance.now() - t0).toFixed(1)} ms`);
    }
    console.log('  (n = 25, the 551-character line of issue 11, took seconds; every 2 more repeats multiply the time by about 4)');
    return { worstCpuP95Ms: worstCpuP95 };
  } finally {
    await b.stop();
    await cleanup();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runFiltersBench();
}
