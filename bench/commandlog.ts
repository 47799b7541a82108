/**
 * Command log accuracy (issue 11 item 5): the corpus of test/helpers/commandCorpus.ts (more
 * than 200 executed lines: typed, edited, history, Ctrl-R, Ctrl-O/Ctrl-J, bracketed paste, typing
 * ahead, a script piped into `ssh -tt`, `ssh -t … bash -i`, wrapped lines, a scrolled screen,
 * vi/less/top, `stty -echo`, passwords at echo-off prompts) is driven through the gateway
 * in-process against a real sshd whose bash appends each line it executes to its history file.
 * The Command rows are compared with that history: recall (executed lines logged), precision
 * (logged lines that were executed), and the secrets typed at echo-off prompts found in the log.
 * Targets: recall ≥ 99 %, precision 100 %, no secret.
 * Run: npm run bench -- commandlog   (BENCH_VERBOSE=1 lists every miss and invention)
 */
import { corpus } from '../test/helpers/commandCorpus.ts';
import { runCorpus, startCommandLogRig, summarize } from '../test/helpers/commandLog.ts';
import { sshdUnavailable } from '../test/helpers/sshd.ts';
import { cleanup } from '../test/helpers/tmp.ts';

const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

export async function runCommandLogBench(): Promise<void> {
  const reason = sshdUnavailable();
  if (reason) throw new Error(reason);
  const verbose = process.env.BENCH_VERBOSE === '1';
  const rig = await startCommandLogRig();
  try {
    const scores = await runCorpus(rig, corpus('full'), (s) => {
      if (!verbose && s.missed.length === 0 && s.invented.length === 0) return;
      if (s.missed.length) console.log(`  ${s.cls}: missed ${JSON.stringify(s.missed)}`);
      if (s.invented.length) console.log(`  ${s.cls}: invented ${JSON.stringify(s.invented)}`);
    });
    console.log('\ncommand log against bash history');
    console.log('class               executed  logged  matched  recall    precision  secrets');
    for (const r of summarize(scores)) {
      console.log(`${r.cls.padEnd(20)}${String(r.truth).padStart(8)}${String(r.logged).padStart(8)}${String(r.matched).padStart(9)}  ${pct(r.recall).padStart(8)}  ${pct(r.precision).padStart(9)}  ${String(r.secrets).padStart(7)}`);
    }
    const all = summarize(scores).at(-1)!;
    console.log(`\nrecall ${pct(all.recall)} (target ≥ 99 %), precision ${pct(all.precision)} (target 100 %), secrets found: ${all.secrets}`);
  } finally {
    await rig.stop();
    cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runCommandLogBench();
