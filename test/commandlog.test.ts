// The command log against ground truth (issue 11 item 5): a share of the bench's corpus
// (bench/commandlog.ts), one test per way of driving a shell, each in real PTY sessions
// through the gateway against a real sshd whose bash appends every line it runs to its
// history. Every executed line must be logged once and nothing else (recall and precision
// 100 %), and no secret typed at an echo-off prompt may appear in a Command row.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { corpus } from './helpers/commandCorpus.ts';
import { runCorpus, startCommandLogRig, type Rig } from './helpers/commandLog.ts';
import { sshdUnavailable } from './helpers/sshd.ts';

const skip = sshdUnavailable();

describe('the command log holds exactly what bash executed', { skip }, () => {
  let rig: Rig;
  before(async () => { rig = await startCommandLogRig(); });
  after(async () => { await rig?.stop(); });

  for (const scenario of corpus('small')) {
    test(`${scenario.cls}: ${scenario.name}`, async () => {
      const [s] = await runCorpus(rig, [scenario]);
      assert.ok(s!.truth.length > 0, 'bash ran something');
      assert.deepEqual({ missed: s!.missed, invented: s!.invented, secrets: s!.secretsFound }, { missed: [], invented: [], secrets: [] },
        `executed ${JSON.stringify(s!.truth)}; logged ${JSON.stringify(s!.logged)}`);
      assert.equal(s!.matched, s!.truth.length);
    });
  }
});
