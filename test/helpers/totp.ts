import { setTimeout as sleep } from 'node:timers/promises';
import { currentTotp, TOTP_STEP_MS } from '../../core/identity/totp.ts';

/** Time a code needs to reach the server's check on a loaded host, with room to spare. */
const MARGIN_MS = 3000;

/**
 * The previous step's code: the server still accepts it (a window of one step each way) and the
 * current one stays unused for the test's next login. Computed in a step's last moments, it is two
 * steps old by the time the server checks it, and refused (mfa.test in ci60: 400 at enrolment), so
 * within MARGIN_MS of a step's end this waits for the next step first.
 */
export async function previousStepTotp(secret: string): Promise<string> {
  const left = TOTP_STEP_MS - (Date.now() % TOTP_STEP_MS);
  if (left < MARGIN_MS) await sleep(left + 100);
  return currentTotp(secret, -1);
}
