// MFA beyond the authenticator app (issue 15 item 8): ten one-time recovery codes at enrolment
// (hashed at rest, good once, on the web and over SSH keyboard-interactive), a hint when the code
// just used is typed again, self-service disable after the password, and MFA required per role —
// enforced at the next login over the web (a session that can only enrol) and over SSH (refused,
// told to enrol on the web).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { KeyboardInteractiveCallback, Prompt } from 'ssh2';
import { LoginLogEntity, RecoveryCodeEntity } from '../core/db/entities/index.ts';
import { currentTotp } from '../core/identity/totp.ts';
import { previousStepTotp } from './helpers/totp.ts';
import { startBastion, ADMIN_PASSWORD, type Bastion } from './helpers/bastion.ts';
import { ApiClient, loggedIn } from './helpers/api.ts';
import { factories } from './helpers/factories.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup } from './helpers/tmp.ts';
import { execa } from 'execa';
import { AUTH_REFUSED, QUIET, ssh2Login } from './gatewayFixture.ts';

let b: Bastion;
let f: ReturnType<typeof factories>;
let admin: ApiClient;
let seq = 0;
const noSsh = sshdUnavailable();

before(async () => {
  b = await startBastion({ gateway: true });
  f = factories(b.services);
  admin = await loggedIn(b.baseUrl, 'admin', ADMIN_PASSWORD);
});

after(async () => {
  await b?.stop();
  await cleanup();
});

async function user(role: 'user' | 'auditor' = 'user') {
  const password = `Mfa-pass-${++seq}-quartz`;
  const u = await f.user({ username: `mfa${seq}`, password, role });
  return { ...u, password, api: await loggedIn(b.baseUrl, u.username, password) };
}

/** Enrols with the previous step's code, so the current one is still unused; returns the secret and the recovery codes. */
async function enrol(c: ApiClient): Promise<{ secret: string; codes: string[] }> {
  const start = await c.post('/me/totp');
  assert.equal(start.status, 201);
  const done = await c.post('/me/totp/confirm', { code: await previousStepTotp(start.body.secret) });
  assert.equal(done.status, 200);
  return { secret: start.body.secret, codes: done.body.recoveryCodes };
}

async function lastLogin(username: string) {
  const rows = await b.services.ds.getRepository(LoginLogEntity).find({ where: { username }, order: { createdAt: 'DESC' }, take: 1 });
  return rows[0]!;
}

/** Keyboard-interactive over ssh2 answering every question with `answer`; collects the instructions shown. */
function sshKbd(username: string, password: string, answer: () => string, shown: string[]) {
  return ssh2Login(b.sshPort, {
    username,
    authHandler: [
      { type: 'password', username, password },
      {
        type: 'keyboard-interactive', username,
        prompt: (_n: string, instructions: string, _l: string, ps: Prompt[], finish: KeyboardInteractiveCallback) => {
          shown.push(instructions);
          finish(ps.map(() => answer()));
        },
      },
    ] as never,
  });
}

test('enrolment gives ten distinct recovery codes, stored only as keyed hashes; each logs in once, on the web and over SSH', { skip: noSsh }, async () => {
  const u = await user();
  const { codes } = await enrol(u.api);
  assert.equal(codes.length, 10);
  assert.equal(new Set(codes).size, 10);
  for (const code of codes) assert.match(code, /^[a-z2-9]{5}-[a-z2-9]{5}$/);
  const rows = await b.services.ds.getRepository(RecoveryCodeEntity).findBy({ userId: u.id });
  assert.equal(rows.length, 10);
  const stored = new Set(rows.map((r) => r.codeHash));
  for (const code of codes) {
    assert.ok(!stored.has(code), 'no plain code at rest');
    assert.ok(!stored.has(createHash('sha256').update(code).digest('hex')), 'not an unkeyed hash either');
  }

  // The web: a recovery code instead of the TOTP code, typed in capitals without the dash.
  const web = await new ApiClient(b.baseUrl).login(u.username, u.password, codes[0]!.replace('-', '').toUpperCase());
  assert.equal(web.status, 200);
  assert.deepEqual([(await lastLogin(u.username)).method, (await lastLogin(u.username)).ok], ['password+recovery_code', true]);
  const again = await new ApiClient(b.baseUrl).login(u.username, u.password, codes[0]!);
  assert.equal(again.status, 401);
  assert.equal(again.body.error.details.reason, 'invalid_totp', 'a spent code is refused');

  // SSH keyboard-interactive: another code works, the spent one does not.
  const shown: string[] = [];
  const client = await sshKbd(u.username, u.password, () => codes[1]!, shown);
  client.end();
  assert.match(shown.join('\n'), /recovery code/);
  assert.deepEqual([(await lastLogin(u.username)).method, (await lastLogin(u.username)).ok], ['password+recovery_code', true]);
  await assert.rejects(sshKbd(u.username, u.password, () => codes[1]!, []), AUTH_REFUSED);
  assert.deepEqual((await u.api.get('/me/mfa')).body, { enabled: true, recoveryCodesLeft: 8, requiredByRole: false });

  // New codes replace the old ones (after the password).
  assert.equal((await u.api.post('/me/totp/recovery-codes', { password: 'wrong-password-1' })).status, 400);
  const renewed = await u.api.post('/me/totp/recovery-codes', { password: u.password });
  assert.equal(renewed.status, 200);
  assert.equal(renewed.body.recoveryCodes.length, 10);
  assert.equal((await new ApiClient(b.baseUrl).login(u.username, u.password, codes[2]!)).status, 401, 'old codes are gone');
});

test('the code just used, typed again, is refused with a hint to wait for the next one (web and SSH)', { skip: noSsh }, async () => {
  const u = await user();
  const { secret } = await enrol(u.api);
  const code = currentTotp(secret);
  assert.equal((await new ApiClient(b.baseUrl).login(u.username, u.password, code)).status, 200);
  const reused = await new ApiClient(b.baseUrl).login(u.username, u.password, code);
  assert.equal(reused.status, 401);
  assert.equal(reused.body.error.details.reason, 'totp_reused');
  assert.equal((await lastLogin(u.username)).reason, 'totp_reused');
  const wrong = await new ApiClient(b.baseUrl).login(u.username, u.password, '000000');
  assert.equal(wrong.body.error.details.reason, code === '000000' ? 'totp_reused' : 'invalid_totp');

  // Over SSH the question comes again once, with the hint.
  const shown: string[] = [];
  await assert.rejects(sshKbd(u.username, u.password, () => code, shown), AUTH_REFUSED);
  assert.equal(shown.length, 2);
  assert.match(shown[1]!, /this code was just used; wait for the next code/);
});

test('self-service disable needs the password; afterwards the password alone logs in', async () => {
  const u = await user();
  await enrol(u.api);
  const wrong = await u.api.post('/me/totp/disable', { password: 'not-my-password-9' });
  assert.equal(wrong.status, 400);
  assert.deepEqual([wrong.body.error.details.field, wrong.body.error.details.reason], ['password', 'wrong_password']);
  assert.equal((await b.services.users.get(u.id)).totpEnabled, true);
  assert.equal((await u.api.post('/me/totp/disable', { password: u.password })).status, 204);
  assert.equal((await b.services.users.get(u.id)).totpEnabled, false);
  assert.equal(await b.services.ds.getRepository(RecoveryCodeEntity).countBy({ userId: u.id }), 0, 'the recovery codes go with it');
  assert.equal((await new ApiClient(b.baseUrl).login(u.username, u.password)).status, 200);
  const ops = await admin.get(`/audit/operations?limit=5&search=${u.username}`);
  assert.ok(ops.body.items.some((o: { action: string }) => o.action === 'disable_mfa'));
});

test('MFA required per role: the web session can only enrol, SSH is refused with a message to enrol on the web, and disabling is refused', { skip: noSsh }, async () => {
  const auditor = await user('auditor');
  const enrolled = await user('auditor');
  const { secret } = await enrol(enrolled.api);
  const other = await user('user');
  assert.equal((await auditor.api.patch('/mfa-policy', { auditor: true })).status, 403, 'only admins set the policy');
  const set = await admin.patch('/mfa-policy', { auditor: true });
  assert.equal(set.status, 200);
  assert.deepEqual(set.body, { admin: false, auditor: true, user: false });
  assert.deepEqual((await admin.get('/mfa-policy')).body, { admin: false, auditor: true, user: false });
  try {
    // Web: the login succeeds into a session that can do nothing but enrol (an older session too).
    const login = new ApiClient(b.baseUrl);
    const r = await login.login(auditor.username, auditor.password);
    assert.equal(r.status, 200);
    assert.equal(r.body.mfaEnrolmentRequired, true);
    for (const c of [login, auditor.api]) {
      const blocked = await c.get('/sessions');
      assert.equal(blocked.status, 403);
      assert.equal(blocked.body.error.details.reason, 'mfa_enrolment_required');
      assert.equal((await c.get('/me')).body.mfaEnrolmentRequired, true);
    }
    assert.equal((await other.api.get('/me/keys')).status, 200, 'other roles are not affected');

    // SSH with the real OpenSSH client: refused, with the reason on screen and in the login log.
    // LogLevel INFO (OpenSSH's default; the test helpers quiet it) shows keyboard-interactive instructions.
    const ssh = await execa('sshpass', ['-p', auditor.password, 'ssh', '-o', 'LogLevel=INFO', ...QUIET, '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1',
      '-p', String(b.sshPort), `${auditor.username}@127.0.0.1`, 'true'], { reject: false, timeout: 30_000 });
    assert.notEqual(ssh.exitCode, 0);
    assert.match(String(ssh.stderr), /your role requires two-factor authentication: set it up in the web console/);
    const row = await lastLogin(auditor.username);
    assert.deepEqual([row.ok, row.reason, row.channel], [false, 'mfa_enrolment_required', 'ssh']);

    // Enrolment lifts the restriction; an enrolled auditor logs in with the code as before.
    await enrol(login);
    assert.equal((await login.get('/sessions')).status, 200);
    assert.equal((await new ApiClient(b.baseUrl).login(enrolled.username, enrolled.password, currentTotp(secret))).status, 200);
    const refused = await enrolled.api.post('/me/totp/disable', { password: enrolled.password });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.details.reason, 'mfa_required_by_role');
  } finally {
    await admin.patch('/mfa-policy', { auditor: false });
  }
});
