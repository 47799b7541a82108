// The SSH gateway's front door: how operators authenticate (password, key, TOTP, forced
// change), what is logged, and the security rules that peers got wrong (1, 2, 4, 9).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import ssh2 from 'ssh2';
import type { AuthHandlerMiddleware, KeyboardInteractiveCallback, ParsedKey, Prompt } from 'ssh2';
import { SYSTEM_ACTOR } from '../core/actor.ts';
import { LoginLogEntity, UserEntity, type User } from '../core/db/entities/index.ts';
import { currentTotp } from '../core/identity/totp.ts';
import { previousStepTotp } from './helpers/totp.ts';
import { sshdUnavailable } from './helpers/sshd.ts';
import { cleanup, makeTempDir } from './helpers/tmp.ts';
import { startGateway } from '../gateway/index.ts';
import { ALICE_PASSWORD, eventually, sshKey, ssh2Exec, ssh2Login, sshPassword, startWorld, type World, AUTH_REFUSED } from './gatewayFixture.ts';

const skip = sshdUnavailable();
/** sshpass's exit status when ssh asked for the password again: the login was refused (not a crash, which is 255). */
const SSHPASS_REFUSED = 5;

async function keypair(dir: string, name: string): Promise<{ path: string; publicKey: string; privateKey: string }> {
  const path = join(dir, name);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path]);
  return { path, publicKey: readFileSync(`${path}.pub`, 'utf8').trim(), privateKey: readFileSync(path, 'utf8') };
}

function parsed(text: string): ParsedKey {
  const k = ssh2.utils.parseKey(text);
  if (k instanceof Error) throw k;
  return Array.isArray(k) ? k[0]! : k;
}

/** Answers keyboard-interactive prompts by matching their text. */
function answering(answers: Array<[RegExp, string]>): (name: string, instructions: string, lang: string, prompts: Prompt[], finish: KeyboardInteractiveCallback) => void {
  return (_name, _instructions, _lang, prompts, finish) => {
    finish(prompts.map((p) => answers.find(([re]) => re.test(p.prompt))?.[1] ?? ''));
  };
}

describe('SSH gateway authentication', { skip }, () => {
  let w: World;
  let keysDir: string;
  let seq = 0;
  const s = () => w.bastion.services;

  /** A user granted web01 like alice. */
  async function operator(o: Parameters<World['f']['user']>[0] = {}): Promise<User & { password: string }> {
    const password = o.password ?? `Pass-word-${++seq}-xyz`;
    const user = await w.f.user({ username: `op${++seq}`, ...o, password });
    await w.f.permission({ users: [user.id], assets: [w.web01.id], systemUsers: [w.su.id], actions: ['connect'] });
    return Object.assign(user, { password });
  }

  async function loginLogs(username: string) {
    return s().ds.getRepository(LoginLogEntity).find({ where: { username }, order: { createdAt: 'ASC' } });
  }

  async function enableTotp(userId: string): Promise<string> {
    const { secret } = await s().totp.start(userId);
    // Enrol with the previous step's code (accepted within the window) so the current code is still unused.
    await s().totp.confirm(SYSTEM_ACTOR, userId, await previousStepTotp(secret));
    return secret;
  }

  before(async () => {
    w = await startWorld();
    keysDir = makeTempDir('bastion-gw-keys-');
  });
  after(async () => {
    await w?.stop();
    await cleanup();
  });

  test('a password login runs a command on the asset as the system user, and is logged', async () => {
    const r = await sshPassword(w.gw.port, 'alice@web01', ALICE_PASSWORD, ['id -un']);
    assert.equal(r.exitCode, 0, String(r.stderr));
    assert.equal(String(r.stdout).trim(), w.sshd.username);
    const logs = await loginLogs('alice');
    const ok = logs.filter((l) => l.ok);
    assert.equal(ok.length, 1);
    assert.equal(ok[0]!.channel, 'ssh');
    assert.equal(ok[0]!.userId, w.alice.id);
    // Rule 4: the address is the socket's peer.
    assert.equal(ok[0]!.clientAddress, '127.0.0.1');
  });

  test('the password method itself (not keyboard-interactive) works too', async () => {
    const client = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD, authHandler: ['password'] });
    const r = await ssh2Exec(client, 'echo via-password');
    client.end();
    assert.equal(r.stdout.toString().trim(), 'via-password');
    const last = (await loginLogs('alice')).at(-1)!;
    assert.equal(last.ok, true);
    assert.equal(last.method, 'password');
  });

  test('a wrong password is refused with a logged, counted failure', async () => {
    const op = await operator();
    const r = await sshPassword(w.gw.port, `${op.username}@web01`, 'not-the-password', ['true']);
    assert.equal(r.exitCode, SSHPASS_REFUSED, String(r.stderr));
    const logs = await loginLogs(op.username);
    assert.equal(logs.length, 1);
    assert.equal(logs[0]!.ok, false);
    assert.equal(logs[0]!.reason, 'invalid_credentials');
    assert.equal(await s().authentication.throttle.pairFailures(op.username, '127.0.0.1'), 1);
  });

  test('a public key stored for the user logs in with ssh -i', async () => {
    const op = await operator();
    const key = await keypair(keysDir, `key-${op.username}`);
    await s().userKeys.add(SYSTEM_ACTOR, op.id, { publicKey: key.publicKey });
    const r = await sshKey(w.gw.port, `${op.username}@web01`, key.path, ['id -un']);
    assert.equal(r.exitCode, 0, String(r.stderr));
    assert.equal(String(r.stdout).trim(), w.sshd.username);
    const logs = await loginLogs(op.username);
    assert.deepEqual(logs.map((l) => [l.ok, l.method]), [[true, 'publickey']]);
    const [stored] = await s().userKeys.list(op.id);
    assert.ok(stored!.lastUsedAt, 'the key use is remembered');
  });

  test('a key that is not stored for the user does not log in', async () => {
    const op = await operator();
    const stranger = await keypair(keysDir, `stranger-${op.username}`);
    const r = await sshKey(w.gw.port, `${op.username}@web01`, stranger.path, ['true']);
    assert.equal(r.exitCode, 255);
    // Nothing counted toward the lockout (pair) or the slow-down (account) for this user.
    const counted = await s().ds.createQueryBuilder().select(['t.kind AS kind', 't.hits AS hits']).from('login_throttle', 't').where('t.username = :u', { u: op.username }).getRawMany<{ kind: string; hits: number }>();
    assert.deepEqual(counted.filter((c) => Number(c.hits) > 0), [], 'key offers are not password guesses');
    // The row is written when the gateway sees the connection close.
    const logs = await eventually(() => loginLogs(op.username), (l) => l.length > 0);
    assert.ok(logs.every((l) => !l.ok), 'the refused attempt is logged as a failure');
  });

  test('rule 1: ssh -i key.pub (a stored key the client cannot sign with) does not log in', async () => {
    const op = await operator();
    const key = await keypair(keysDir, `pubonly-${op.username}`);
    await s().userKeys.add(SYSTEM_ACTOR, op.id, { publicKey: key.publicKey });
    const dir = makeTempDir('bastion-gw-pubonly-');
    copyFileSync(`${key.path}.pub`, join(dir, 'id.pub'));
    const r = await sshKey(w.gw.port, `${op.username}@web01`, join(dir, 'id.pub'), ['id -un'], { env: { SSH_AUTH_SOCK: '' } });
    assert.equal(r.exitCode, 255, `must not log in: ${String(r.stdout)}`);
    assert.equal(String(r.stdout), '');
    assert.equal((await loginLogs(op.username)).filter((l) => l.ok).length, 0);
  });

  test('rule 1: a key query without signature gets "acceptable" but logs nobody in', async () => {
    const op = await operator();
    const key = await keypair(keysDir, `query-${op.username}`);
    await s().userKeys.add(SYSTEM_ACTOR, op.id, { publicKey: key.publicKey });
    const pk = parsed(key.privateKey);
    let asked = false;
    // The client never signs: after "key acceptable" it has nothing more to send.
    pk.sign = (() => {
      asked = true;
      return new Error('no private key here');
    }) as unknown as ParsedKey['sign'];
    await assert.rejects(ssh2Login(w.gw.port, { username: `${op.username}@web01`, authHandler: [{ type: 'publickey', username: `${op.username}@web01`, key: pk }] as never }), /Error signing data with key: no private key here/);
    assert.ok(asked, 'the gateway answered the query with "key acceptable"');
    assert.equal((await loginLogs(op.username)).filter((l) => l.ok).length, 0);
  });

  test('rule 1: a signature made by another key over a stored public key is refused', async () => {
    const op = await operator();
    const stored = await keypair(keysDir, `stored-${op.username}`);
    const other = await keypair(keysDir, `other-${op.username}`);
    await s().userKeys.add(SYSTEM_ACTOR, op.id, { publicKey: stored.publicKey });
    const forged = parsed(stored.privateKey);
    const signer = parsed(other.privateKey);
    forged.sign = (data: Buffer, algo?: string) => signer.sign(data, algo);
    await assert.rejects(ssh2Login(w.gw.port, { username: `${op.username}@web01`, authHandler: [{ type: 'publickey', username: `${op.username}@web01`, key: forged }] as never }), AUTH_REFUSED);
    const logs = await loginLogs(op.username);
    assert.equal(logs.filter((l) => l.ok).length, 0);
    assert.ok(logs.some((l) => !l.ok && l.method === 'publickey'), 'the forged signature is logged as a failure');
  });

  test('TOTP: after the password the code is asked by keyboard-interactive', async () => {
    const op = await operator();
    const secret = await enableTotp(op.id);
    let prompts = '';
    const client = await ssh2Login(w.gw.port, {
      username: `${op.username}@web01`,
      authHandler: [
        { type: 'password', username: `${op.username}@web01`, password: op.password },
        {
          type: 'keyboard-interactive', username: `${op.username}@web01`,
          prompt: (name: string, instr: string, lang: string, ps: Prompt[], finish: KeyboardInteractiveCallback) => {
            prompts += ps.map((p) => p.prompt).join('|');
            answering([[/code/i, currentTotp(secret)]])(name, instr, lang, ps, finish);
          },
        },
      ] as never,
    });
    const r = await ssh2Exec(client, 'id -un');
    client.end();
    assert.equal(r.stdout.toString().trim(), w.sshd.username);
    assert.match(prompts, /Verification code/);
    const last = (await loginLogs(op.username)).at(-1)!;
    assert.deepEqual([last.ok, last.method], [true, 'password+totp']);
  });

  test('TOTP: a password alone does not log in; each wrong code is one logged failure, and the threshold locks the (user, address) pair', async () => {
    const op = await operator();
    const secret = await enableTotp(op.id);
    const threshold = s().config.lockoutThreshold;
    const rows = async () => (await s().auditLogs.logins({ username: op.username, limit: 1000 })).items
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .map((l) => `${l.ok ? 'ok' : 'fail'} ${l.channel} ${l.reason}`);
    const withCode = (code: string) => ssh2Login(w.gw.port, {
      username: op.username,
      authHandler: [
        { type: 'password', username: op.username, password: op.password },
        { type: 'keyboard-interactive', username: op.username, prompt: answering([[/code/i, code]]) },
      ] as never,
    });

    // A password alone is refused and never logged as a success (another user: this one's count stays clean).
    const other = await operator();
    await enableTotp(other.id);
    await assert.rejects(ssh2Login(w.gw.port, { username: other.username, password: other.password, authHandler: ['password'] }), AUTH_REFUSED);
    assert.equal((await s().auditLogs.logins({ username: other.username })).items.filter((l) => l.ok).length, 0);

    const base = 0;
    // A right password with a wrong code, `threshold` times: one counted invalid_totp row each.
    for (let i = 1; i <= threshold; i++) {
      await assert.rejects(withCode(i % 2 ? '000000' : '999999'), AUTH_REFUSED);
      const now = await eventually(rows, (r) => r.length >= base + i, 5000);
      assert.deepEqual(now.slice(base), Array(i).fill('fail ssh invalid_totp'), `after wrong code ${i}`);
    }
    // Locked now: the right password and the right code are refused too, and logged as such.
    await assert.rejects(withCode(currentTotp(secret)), AUTH_REFUSED);
    const final = await eventually(rows, (r) => r.length > base + threshold, 5000);
    const tail = final.slice(base + threshold);
    assert.ok(tail.length >= 1 && tail.every((r) => r === 'fail ssh locked'), `after the lock: ${tail.join('; ')}`);
    assert.equal(final.filter((r) => r.startsWith('ok ')).length, 0);
    const locks = (await s().authentication.lockedPairs()).filter((l) => l.username === op.username);
    assert.deepEqual(locks.map((l) => l.source), ['127.0.0.1'], 'the pair is locked');
  });

  test('rule 2: partial success for one username does not carry over to another', async () => {
    // The attacker knows mallory's password and TOTP, and tries to finish as the victim.
    const mallory = await operator();
    const malloryTotp = await enableTotp(mallory.id);
    const victim = await operator();
    await enableTotp(victim.id);
    const steps: string[] = [];
    const handler: AuthHandlerMiddleware = (_left, partial, next) => {
      if (steps.length === 0) {
        steps.push('mallory password');
        return next({ type: 'password', username: mallory.username, password: mallory.password });
      }
      if (steps.length === 1 && partial) {
        steps.push('victim keyboard-interactive');
        return next({ type: 'keyboard-interactive', username: victim.username, prompt: answering([[/./, currentTotp(malloryTotp)]]) } as never);
      }
      return next(false as never);
    };
    // The switch of username is answered by ssh2's server with a disconnect (or by a refusal): never a login.
    await assert.rejects(ssh2Login(w.gw.port, { username: victim.username, authHandler: handler }), /PROTOCOL_ERROR|All configured authentication methods failed/);
    assert.deepEqual(steps, ['mallory password', 'victim keyboard-interactive'], 'mallory got partial success first');
    assert.equal((await loginLogs(victim.username)).filter((l) => l.ok).length, 0);
    assert.equal((await loginLogs(mallory.username)).filter((l) => l.ok).length, 0);
  });

  test('a forced password change over SSH asks old, new and repeat, then logs in', async () => {
    const op = await operator({ mustChangePassword: true });
    const next = 'Brand-new-secret-42';
    let prompts: string[] = [];
    const client = await ssh2Login(w.gw.port, {
      username: `${op.username}@web01`,
      authHandler: [
        { type: 'password', username: `${op.username}@web01`, password: op.password },
        {
          type: 'keyboard-interactive', username: `${op.username}@web01`,
          prompt: (name: string, instr: string, lang: string, ps: Prompt[], finish: KeyboardInteractiveCallback) => {
            prompts = ps.map((p) => p.prompt);
            answering([[/Current/, op.password], [/New|Repeat/, next]])(name, instr, lang, ps, finish);
          },
        },
      ] as never,
    });
    const r = await ssh2Exec(client, 'id -un');
    client.end();
    assert.equal(r.stdout.toString().trim(), w.sshd.username);
    assert.deepEqual(prompts, ['Current password: ', 'New password: ', 'Repeat new password: ']);
    const fresh = await s().ds.getRepository(UserEntity).findOneByOrFail({ id: op.id });
    assert.equal(fresh.mustChangePassword, false);
    const again = await sshPassword(w.gw.port, `${op.username}@web01`, next, ['true']);
    assert.equal(again.exitCode, 0, String(again.stderr));
  });

  test('rule 9: five failures lock the (user, address) pair, and then the right password fails too', async () => {
    const op = await operator();
    for (let i = 0; i < 5; i++) {
      const r = await sshPassword(w.gw.port, op.username, `wrong-${i}-password`, ['true']);
      assert.equal(r.exitCode, SSHPASS_REFUSED, String(r.stderr));
    }
    const r = await sshPassword(w.gw.port, `${op.username}@web01`, op.password, ['true']);
    assert.equal(r.exitCode, SSHPASS_REFUSED, 'a locked account does not log in with the right password');
    const logs = await loginLogs(op.username);
    assert.equal(logs.filter((l) => l.reason === 'invalid_credentials').length, 5);
    assert.equal(logs.at(-1)!.reason, 'locked');
    assert.equal(await s().authentication.throttle.pairFailures(op.username, '127.0.0.1'), 5);
    assert.deepEqual((await s().authentication.lockedPairs()).filter((l) => l.username === op.username).map((l) => l.source), ['127.0.0.1']);
  });

  test('inactive and expired users cannot log in', async () => {
    const inactive = await operator({ active: false });
    const expired = await operator({ expiresAt: new Date(Date.now() - 60_000) });
    for (const op of [inactive, expired]) {
      const r = await sshPassword(w.gw.port, `${op.username}@web01`, op.password, ['true']);
      assert.equal(r.exitCode, SSHPASS_REFUSED, op.username);
    }
    assert.equal((await loginLogs(inactive.username)).at(-1)!.reason, 'inactive');
    assert.equal((await loginLogs(expired.username)).at(-1)!.reason, 'expired');
  });

  test('an unknown user is refused like a wrong password', async () => {
    const r = await sshPassword(w.gw.port, 'nobody-here@web01', 'whatever-password', ['true']);
    assert.equal(r.exitCode, SSHPASS_REFUSED, String(r.stderr));
    const logs = await loginLogs('nobody-here');
    assert.deepEqual(logs.map((l) => [l.ok, l.reason, l.userId]), [[false, 'invalid_credentials', null]]);
  });

  test('twenty logins at the same moment all get through (one SQLite file underneath)', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, async () => {
      const client = await ssh2Login(w.gw.port, { username: 'alice@web01', password: ALICE_PASSWORD });
      try {
        return (await ssh2Exec(client, 'echo hi')).stdout.toString();
      } finally {
        client.end();
      }
    }));
    assert.deepEqual(results, Array(20).fill('hi\n'));
  });

  test('host keys (ed25519 and RSA) are created once in the data dir and reused after a restart', async () => {
    const scan = async (port: number) => (await execa('ssh-keyscan', ['-p', String(port), '127.0.0.1'])).stdout.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.split(' ').slice(1).join(' ')).sort();
    const first = await scan(w.gw.port);
    assert.ok(first.some((k) => k.startsWith('ssh-ed25519 ')));
    assert.ok(first.some((k) => k.startsWith('ssh-rsa ')));
    const again = await startGateway(w.bastion.services, { port: 0, host: '127.0.0.1' });
    try {
      assert.deepEqual(await scan(again.port), first);
    } finally {
      await again.close();
    }
    const stat = (await execa('stat', ['-c', '%a', join(w.bastion.dataDir, 'ssh_host_ed25519_key')])).stdout;
    assert.equal(stat, '600');
  });

  test('weak algorithms are not offered: SHA-1 key exchange, SHA-1 MACs, CBC ciphers', async () => {
    const attempt = (opts: string[]) => execa('ssh', ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', ...opts.flatMap((o) => ['-o', o]), '-p', String(w.gw.port), 'alice@127.0.0.1', 'true'], { reject: false, timeout: 15_000 });
    for (const opts of [['KexAlgorithms=diffie-hellman-group14-sha1'], ['Ciphers=aes128-cbc'], ['Ciphers=aes128-ctr', 'MACs=hmac-sha1'], ['HostKeyAlgorithms=ssh-rsa']]) {
      const r = await attempt(opts);
      assert.equal(r.exitCode, 255, opts.join(' '));
      assert.match(String(r.stderr), /no matching|Unable to negotiate/i, opts.join(' '));
    }
  });
});
