// Sessions and the command log as CSV (issue 15 item 5): the same filters and the same
// authorization as the lists, every matching row (no paging), cells that a spreadsheet would run
// neutralised; sessions carry their file-transfer count and filter by kind, so an scp or sftp
// session reads as its transfers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Session } from '../core/db/entities/index.ts';
import type { Bastion } from './helpers/bastion.ts';
import { ApiClient } from './helpers/api.ts';
import { startAuditWorld, type AuditWorld } from './helpers/auditWorld.ts';

let w: AuditWorld;
let b: Bastion;
let admin: ApiClient;
let auditor: ApiClient;
let operator: ApiClient;
let shell: Session;
let sftp: Session;

before(async () => {
  w = await startAuditWorld(async ({ f, alice, web01, db01 }) => {
    // Typed text that a spreadsheet would take for a formula.
    shell = await f.session({
      user: alice, asset: web01, kind: 'shell',
      commands: [{ input: '=HYPERLINK("http://evil")', offsetMs: 100 }, { input: 'echo "a, b"', output: 'a, b', offsetMs: 200 }],
      end: { status: 'closed', bytesIn: 10, bytesOut: 20, exitStatus: 0 },
    });
    sftp = await f.session({
      user: alice, asset: db01, kind: 'sftp',
      transfers: [{ operation: 'upload', path: '/tmp/a.txt', size: 3, ok: true }, { operation: 'download', path: '/etc/shadow', ok: false, message: 'permission denied' }],
      end: { status: 'closed', bytesIn: 3, bytesOut: 0 },
    });
  });
  ({ b, admin, auditor, operator } = w);
});
after(async () => {
  await w?.stop();
});

const lines = (csv: string) => csv.trimEnd().split('\r\n');

test('sessions carry their transfer count and filter by kind: the sftp session is its two transfers', async () => {
  const all = await auditor.get('/sessions');
  assert.equal(all.status, 200);
  assert.deepEqual(all.body.items.map((x: { id: string; transfers: number }) => [x.id, x.transfers]), [[sftp.id, 2], [shell.id, 0]]);
  const onlySftp = await auditor.get('/sessions?kind=sftp');
  assert.deepEqual(onlySftp.body.items.map((x: { id: string }) => x.id), [sftp.id]);
  assert.equal((await auditor.get(`/sessions/${sftp.id}`)).body.transfers, 2);
  const bad = await auditor.get('/sessions?kind=telnet');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'validation_failed');
  assert.equal(bad.body.error.details.field, 'kind');
});

test('GET /sessions?format=csv: every matching session, same filters as the list, as an attachment', async () => {
  const r = await fetch(`${b.baseUrl}/api/v1/sessions?format=csv&limit=1`, { headers: { cookie: auditor.cookie! } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/csv; charset=utf-8');
  assert.equal(r.headers.get('content-disposition'), 'attachment; filename="sessions.csv"');
  const rows = lines(await r.text());
  assert.equal(rows[0], 'id,startedAt,endedAt,user.username,asset.name,systemUser.username,kind,clientAddress,status,bytesIn,bytesOut,exitStatus,transfers,endReason,terminatedBy');
  // limit=1 is paging for the screen; the export holds every match.
  assert.equal(rows.length, 3);
  assert.match(rows[1]!, new RegExp(`^${sftp.id},[^,]+,[^,]+,alice,db01,deploy,sftp,127\\.0\\.0\\.1,closed,3,0,,2,,$`));
  const filtered = lines((await admin.get('/sessions?format=csv&asset=web01')).body as string);
  assert.equal(filtered.length, 2);
  assert.match(filtered[1]!, new RegExp(`^${shell.id},.*,web01,deploy,shell,`));
  const future = encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString());
  assert.deepEqual(lines((await auditor.get(`/sessions?format=csv&from=${future}`)).body as string).length, 1);
});

test('GET /commands?format=csv: formulas are quoted out, commas and quotes escaped', async () => {
  const r = await auditor.get('/commands?format=csv&user=alice');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-disposition'), 'attachment; filename="commands.csv"');
  const rows = lines(r.body as string);
  assert.equal(rows[0], 'createdAt,user.username,asset.name,systemUser.username,input,risk,notEchoed,session,offsetMs');
  assert.equal(rows.length, 3);
  // Newest first: the echo, then the formula, which starts with a quote so no spreadsheet runs it.
  assert.match(rows[1]!, new RegExp(`^[^,]+,alice,web01,deploy,"echo ""a, b""",normal,false,${shell.id},200$`));
  assert.match(rows[2]!, new RegExp(`^[^,]+,alice,web01,deploy,"'=HYPERLINK\\(""http://evil""\\)",normal,false,${shell.id},100$`));
  assert.equal(lines((await auditor.get('/commands?format=csv&search=hyperlink')).body as string).length, 2);
  const bad = await auditor.get('/commands?format=xlsx');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.details.field, 'format');
});

test('an operator gets 403 and no CSV for sessions and commands; nobody gets them without a login', async () => {
  for (const path of ['/sessions?format=csv', '/commands?format=csv']) {
    const r = await operator.get(path);
    assert.equal(r.status, 403, path);
    assert.equal(r.body.error.code, 'forbidden');
    assert.equal(r.headers.get('content-disposition'), null);
    const bare = await new ApiClient(b.baseUrl).get(path);
    assert.equal(bare.status, 401, path);
    assert.doesNotMatch(JSON.stringify(bare.body), /alice|web01/);
  }
});
