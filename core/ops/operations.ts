import ssh2 from 'ssh2';
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { Actor } from '../actor.ts';
import type { AccessService } from '../access/accessService.ts';
import type { AdminUserService, SystemUserService } from '../assets/accounts.ts';
import type { AssetService } from '../assets/assets.ts';
import type { HostKeyService } from '../assets/hostKeys.ts';
import type { NodeService } from '../assets/nodes.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import { AssetEntity, type Asset, type Job, type SavedCommand, type SystemUser, type User } from '../db/entities/index.ts';
import { runPlaybook } from './ansible.ts';
import { whereLabels } from '../assets/labels.ts';
import { parseAnsibleFacts } from './facts.ts';
import { execCapture, remoteLogin, RemoteLoginError, type RemoteAccount, type RemoteTarget } from './remoteLogin.ts';
import type { JobService } from './jobs.ts';
import type { CommandFilterService } from '../access/commandFilters.ts';
import type { CommandConfirmations, ConfirmationOutcome } from '../audit/commandConfirmations.ts';
import { UserEntity } from '../db/entities/index.ts';
import { isLocked } from '../identity/lockout.ts';
import { In } from 'typeorm';

export interface TestResult {
  ok: boolean;
  latencyMs: number;
  message: string;
  /** The asset did not answer in time (as opposed to refusing or failing the login). */
  timedOut?: boolean;
}

export interface CommandJobInput {
  assets?: string[] | undefined;
  nodes?: string[] | undefined;
  systemUser: string;
  command: string;
  timeoutSeconds?: number | undefined;
  /** Also every asset carrying all these labels (`key:value`). */
  labels?: string[] | undefined;
  /** The saved command this run comes from, kept in the job's params. */
  savedCommand?: string | undefined;
  /** The job whose failed assets this run retries. */
  retryOf?: string | undefined;
}

const OUTPUT_CAP = 64 * 1024;

interface Deps {
  ds: DataSource;
  assets: AssetService;
  nodes: NodeService;
  adminUsers: AdminUserService;
  systemUsers: SystemUserService;
  hostKeys: HostKeyService;
  access: AccessService;
  jobs: JobService;
  commandFilters: CommandFilterService;
  confirmations: CommandConfirmations;
}

/** How long a job waits for the bastion's own logins and playbooks, and for an administrator. */
interface Timeouts {
  loginMs: number;
  playbookMs: number;
  /** A command job held by a `confirm` filter waits this long for a decision (BASTION_CONFIRM_TIMEOUT_SECONDS). */
  confirmMs: number;
}

/** Most asset names a confirmation request lists before it says how many more. */
const HELD_NAMES_SHOWN = 10;

/** What the bastion itself does on assets: connectivity tests, facts, pushing accounts, batch commands. */
export class OperationsService {
  constructor(private readonly d: Deps, private readonly timeouts: Timeouts = { loginMs: 8000, playbookMs: 180_000, confirmMs: 120_000 }) {}

  /** Logs in with the asset's admin user (or a given system user) and reports how it went; never hangs. */
  async testAsset(assetId: string, systemUserId?: string): Promise<TestResult> {
    const asset = await this.d.assets.get(assetId);
    const result = await this.probe(asset, systemUserId);
    await this.d.ds.getRepository(AssetEntity).update({ id: asset.id }, { lastTestOk: result.ok, lastTestAt: new Date(), lastTestMessage: result.message.slice(0, 1000) });
    return result;
  }

  async testNode(actor: Actor, nodeId: string): Promise<Job> {
    const assets = await this.assetsOf([], [nodeId]);
    return this.connectivityJob(actor, { node: nodeId }, assets, (await this.d.nodes.get(nodeId)).name);
  }

  /** Tests the connectivity of chosen assets (bulk action, retry of a test's failures), as one job. */
  async testAssets(actor: Actor, assetIds: string[], extra: Record<string, unknown> = {}): Promise<Job> {
    const assets = await this.assetsOf(assetIds, []);
    if (assets.length === 0) throw new ValidationError('choose at least one asset', { reason: 'no_assets_chosen', field: 'assets' });
    return this.connectivityJob(actor, { assets: assetIds, ...extra }, assets, assets.length === 1 ? assets[0]!.name : `${assets.length} assets`);
  }

  private connectivityJob(actor: Actor, params: Record<string, unknown>, assets: Asset[], label: string): Promise<Job> {
    return this.d.jobs.start(actor, 'connectivity', params, assets, async (asset) => {
      const r = await this.testAsset(asset.id);
      return { ok: r.ok, exitCode: null, output: `${r.message}${r.ok ? ` (${r.latencyMs} ms)` : ''}`, outcome: r.ok ? 'ok' : r.timedOut ? 'timedOut' : 'failed' };
    }, label);
  }

  async gatherFacts(actor: Actor, target: { asset?: string; node?: string; assets?: string[]; retryOf?: string }): Promise<Job> {
    const assets = await this.assetsOf(target.asset ? [target.asset] : target.assets ?? [], target.node ? [target.node] : []);
    if (target.assets && assets.length === 0) throw new ValidationError('choose at least one asset', { reason: 'no_assets_chosen', field: 'assets' });
    const label = target.node ? (await this.d.nodes.get(target.node)).name : assets.length === 1 ? assets[0]!.name : `${assets.length} assets`;
    return this.d.jobs.start(actor, 'facts', { ...target }, assets, async (asset, signal) => {
      const host = await this.ansibleHost(asset);
      const run = await runPlaybook('facts', host, {}, { timeoutMs: this.timeouts.playbookMs, signal });
      if (!run.ok || !run.facts) return { ok: false, exitCode: null, output: run.output };
      const facts = parseAnsibleFacts(run.facts);
      await this.d.ds.getRepository(AssetEntity).update({ id: asset.id }, { facts: facts as never, factsAt: new Date() });
      return { ok: true, exitCode: 0, output: `${facts.os ?? '?'} ${facts.osVersion ?? ''}, ${facts.cpuCount ?? '?'} CPU, ${facts.memoryMb ?? '?'} MiB` };
    }, label);
  }

  async pushSystemUser(actor: Actor, systemUserId: string, target: { assets?: string[] | undefined; nodes?: string[] | undefined; retryOf?: string }): Promise<Job> {
    const su = await this.d.systemUsers.get(systemUserId);
    const assets = await this.assetsOf(target.assets ?? [], target.nodes ?? []);
    if (assets.length === 0) throw new ValidationError('choose at least one asset or node', { reason: 'no_assets_chosen', field: 'assets' });
    const vars = this.pushVars(su);
    return this.d.jobs.start(actor, 'push', { systemUser: su.id, assets: target.assets ?? [], nodes: target.nodes ?? [], ...(target.retryOf ? { retryOf: target.retryOf } : {}) }, assets, async (asset, signal) => {
      const host = await this.ansibleHost(asset);
      const run = await runPlaybook('push_system_user', host, vars, { timeoutMs: this.timeouts.playbookMs, signal });
      return { ok: run.ok, exitCode: run.ok ? 0 : null, output: run.output };
    }, su.name);
  }

  /**
   * Runs a shell command on many assets over SSH. The command is sent as the exec request's
   * text: the target's shell interprets it; nothing on the bastion templates it.
   *
   * A job is held to the same controls as an SSH session (DESIGN rule 12): the command is
   * checked against the command filters for each (asset, system user) before anything runs —
   * a deny refuses it on that asset with the filter's name in that asset's result; a confirm
   * holds it on that asset until an administrator decides (one request for the whole job, as
   * a session's held line is one request), and a rejection or no decision in time refuses it
   * there — and the job is canceled, its commands
   * killed on the assets, as soon as its starter is disabled, locked, expired or loses the
   * permission (rule 11). Its per-asset results are its record, readable by auditors.
   */
  async runCommand(actor: Actor, user: User, input: CommandJobInput): Promise<Job> {
    const { su, assets } = user.role === 'admin' ? await this.adminTargets(input) : await this.operatorTargets(user, input);
    if (assets.length === 0) throw new ValidationError(input.labels?.length ? 'no asset carries these labels' : 'choose at least one asset or node', { reason: input.labels?.length ? 'no_asset_with_labels' : 'no_assets_chosen', field: input.labels?.length ? 'labels' : 'assets' });
    for (const a of assets) {
      if (!(await this.d.access.mayRunCommand(user, a.id, su.id))) throw await this.notRunnable(user, a.id, su);
    }
    const refusals = new Map<string, string>();
    /** Assets where a confirm filter holds the command, with that filter's name. */
    const held = new Map<string, string>();
    for (const a of assets) {
      const verdict = await this.d.commandFilters.check({ userId: user.id, assetId: a.id, systemUserId: su.id }, input.command);
      const name = verdict.filter?.name ?? '';
      if (verdict.action === 'deny') refusals.set(a.id, `refused by command filter '${name}'; nothing ran`);
      else if (verdict.action === 'confirm') held.set(a.id, name);
    }
    const confirmation = this.jobConfirmation(user, su, input.command, assets.filter((a) => held.has(a.id)), [...new Set(held.values())]);
    const account = this.accountOf(su);
    const timeoutMs = (input.timeoutSeconds ?? 60) * 1000;
    return this.d.jobs.start(actor, 'command', { command: input.command, systemUser: su.id, assets: input.assets ?? [], nodes: input.nodes ?? [], ...(input.labels?.length ? { labels: input.labels } : {}), timeoutSeconds: timeoutMs / 1000, ...(input.savedCommand ? { savedCommand: input.savedCommand } : {}), ...(input.retryOf ? { retryOf: input.retryOf } : {}) }, assets, async (asset, signal, progress, job) => {
      const refused = refusals.get(asset.id);
      if (refused) return { ok: false, exitCode: null, output: refused };
      const heldBy = held.get(asset.id);
      let confirmed = '';
      if (heldBy !== undefined) {
        progress(() => `waiting for an administrator to confirm this command (command filter '${heldBy}')`);
        const outcome = await confirmation(job.id, signal);
        if (signal.aborted) return { ok: false, exitCode: null, output: 'canceled while it waited for an administrator; nothing ran', outcome: 'canceled' };
        if (!outcome.approved) {
          return { ok: false, exitCode: null, output: outcome.by === null
            ? `refused: no administrator confirmed this command (command filter '${heldBy}') within ${this.timeouts.confirmMs / 1000} s; nothing ran`
            : `refused: ${outcome.by} rejected this command (command filter '${heldBy}'); nothing ran` };
        }
        confirmed = `[confirmed by ${outcome.by} (command filter '${heldBy}')]\n`;
      }
      let client;
      try {
        client = await remoteLogin(asset, account, this.d.hostKeys, this.timeouts.loginMs, signal);
      } catch (err) {
        return { ok: false, exitCode: null, output: err instanceof Error ? err.message : String(err), ...(signal.aborted ? { outcome: 'canceled' as const } : {}) };
      }
      try {
        // Canceled (rule 11, or by hand) as the login completed: nothing is started.
        if (signal.aborted) return { ok: false, exitCode: null, output: 'canceled before it ran', outcome: 'canceled' };
        const r = await execCapture(client, input.command, { maxBytes: OUTPUT_CAP, timeoutMs, signal, onOutput: progress });
        const outcome = r.exitCode === 0 ? 'ok' : r.timedOut ? 'timedOut' : signal.aborted ? 'canceled' : 'failed';
        return { ok: r.exitCode === 0, exitCode: r.exitCode, output: confirmed + r.output + (r.truncated ? '\n[output truncated]' : ''), outcome };
      } finally {
        client.end();
      }
    }, input.command.slice(0, 120), { stillAllowed: () => this.whyJobMustStop(user.id, assets, su) });
  }

  /**
   * The one decision a command job waits for on the assets a confirm filter holds: asked of the
   * administrators when the first such asset's turn comes, shared by the others. The job's
   * signal (canceled by hand or by rule 11) withdraws the request.
   */
  private jobConfirmation(user: User, su: SystemUser, command: string, heldAssets: Asset[], filters: string[]): (jobId: string, signal: AbortSignal) => Promise<ConfirmationOutcome> {
    let decision: Promise<ConfirmationOutcome> | null = null;
    const names = heldAssets.slice(0, HELD_NAMES_SHOWN).map((a) => a.name).join(', ');
    const more = heldAssets.length > HELD_NAMES_SHOWN ? ` and ${heldAssets.length - HELD_NAMES_SHOWN} more` : '';
    return (jobId, signal) => decision ??= this.d.confirmations.request({
      sessionId: null, jobId, userId: user.id, username: user.username, assetName: names + more, systemUsername: su.username, command, filter: filters.join(', '),
    }, this.timeouts.confirmMs, signal);
  }

  /**
   * Runs a saved command as `user`: on the given targets, else its default ones. Exactly a
   * command job (runCommand): the same grants per asset, the same filters, the same record.
   */
  runSaved(actor: Actor, user: User, saved: SavedCommand, targets: { assets?: string[] | undefined; nodes?: string[] | undefined }): Promise<Job> {
    const chosen = targets.assets?.length || targets.nodes?.length;
    return this.runCommand(actor, user, {
      assets: chosen ? targets.assets : saved.assetIds, nodes: chosen ? targets.nodes : saved.nodeIds,
      systemUser: saved.systemUserId, command: saved.command, timeoutSeconds: saved.timeoutSeconds, savedCommand: saved.id,
    });
  }

  /**
   * A new job of the same kind over the assets where `job` did not succeed (failed, timed out,
   * canceled), started by `user` — who must be allowed to retry it (core/access), and for a
   * command, to run it on each of those assets, through the command filters, as any new job.
   */
  async retryFailed(actor: Actor, user: User, job: Job): Promise<Job> {
    if (job.status === 'queued' || job.status === 'running') throw new ConflictError(`the job is ${job.status}; retry it once it has ended`, { reason: 'job_still_running' });
    const failed = [...new Set(job.results.filter((r) => !r.ok && !r.running).map((r) => r.asset))];
    if (failed.length === 0) throw new ConflictError('no asset failed in this job: nothing to retry', { reason: 'nothing_to_retry' });
    const existing = (await this.d.ds.getRepository(AssetEntity).findBy({ id: In(failed) })).map((a) => a.id);
    if (existing.length === 0) throw new ConflictError('the failed assets no longer exist', { reason: 'retry_assets_gone' });
    const p = job.params;
    switch (job.kind) {
      case 'command':
        return this.runCommand(actor, user, {
          assets: existing, systemUser: String(p.systemUser), command: String(p.command),
          timeoutSeconds: typeof p.timeoutSeconds === 'number' ? p.timeoutSeconds : undefined, retryOf: job.id,
          savedCommand: typeof p.savedCommand === 'string' ? p.savedCommand : undefined,
        });
      case 'connectivity': return this.testAssets(actor, existing, { retryOf: job.id });
      case 'facts': return this.gatherFacts(actor, { assets: existing, retryOf: job.id });
      case 'push': return this.pushSystemUser(actor, String(p.systemUser), { assets: existing, retryOf: job.id });
    }
  }

  /** Why a command job started by this user must stop now (rule 11), or null while it may run. */
  private async whyJobMustStop(userId: string, assets: Asset[], su: SystemUser): Promise<string | null> {
    const u = await this.d.ds.getRepository(UserEntity).findOneBy({ id: userId });
    if (!u || !u.active) return `${u?.username ?? 'its starter'} was disabled`;
    if (u.expiresAt && u.expiresAt.getTime() <= Date.now()) return `${u.username}'s account expired`;
    if (isLocked(u)) return `${u.username} was locked`;
    for (const a of assets) {
      if (!(await this.d.access.mayRunCommand(u, a.id, su.id))) return `${u.username} may no longer run commands on '${a.name}' as ${su.username}`;
    }
    return null;
  }

  private async probe(asset: Asset, systemUserId?: string): Promise<TestResult> {
    const started = performance.now();
    let client;
    try {
      const account = systemUserId ? this.accountOf(await this.d.systemUsers.get(systemUserId)) : await this.adminAccount(asset);
      client = await remoteLogin(asset, account, this.d.hostKeys, this.timeouts.loginMs);
      const latencyMs = Math.round(performance.now() - started);
      return { ok: true, latencyMs, message: `logged in as ${account.username}` };
    } catch (err) {
      const message = err instanceof RemoteLoginError || err instanceof ValidationError ? err.message : `unexpected error: ${(err as Error).message}`;
      return { ok: false, latencyMs: Math.round(performance.now() - started), message, timedOut: err instanceof RemoteLoginError && err.kind === 'timeout' };
    } finally {
      client?.end();
    }
  }

  private accountOf(su: SystemUser): RemoteAccount {
    return { username: su.username, ...this.d.systemUsers.secrets(su) };
  }

  private async adminAccount(asset: Asset): Promise<RemoteAccount> {
    if (!asset.adminUserId) throw new ValidationError(`asset '${asset.name}' has no admin user`, { reason: 'asset_without_admin_user', asset: asset.name, field: 'adminUser' });
    const admin = await this.d.adminUsers.get(asset.adminUserId);
    return { username: admin.username, ...this.d.adminUsers.secrets(admin) };
  }

  /** Ansible connection details; pins the host key first (with a plain SSH login) if none is pinned. */
  private async ansibleHost(asset: RemoteTarget & Asset) {
    const account = await this.adminAccount(asset);
    let pinned = await this.d.hostKeys.get(asset.id);
    if (!pinned) {
      const c = await remoteLogin(asset, account, this.d.hostKeys, this.timeouts.loginMs);
      c.end();
      pinned = await this.d.hostKeys.get(asset.id);
      if (!pinned) throw new RemoteLoginError('host_key', 'the host key could not be pinned');
    }
    return { address: asset.address, port: asset.port, username: account.username, password: account.password, privateKey: account.privateKey, hostKey: pinned.publicKey };
  }

  private pushVars(su: SystemUser): Record<string, unknown> {
    const secrets = this.d.systemUsers.secrets(su);
    let publicKey = '';
    if (secrets.privateKey) {
      const parsed = ssh2.utils.parseKey(secrets.privateKey.reveal());
      if (!(parsed instanceof Error) && !Array.isArray(parsed)) publicKey = `${parsed.type} ${parsed.getPublicSSH().toString('base64')} bastion:${su.name}`;
    }
    return {
      su_username: su.username,
      su_shell: su.shell || '/bin/bash',
      su_password: secrets.password?.reveal() ?? '',
      su_salt: randomBytes(12).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 16),
      su_public_key: publicKey,
      su_sudo: su.sudo.trim(),
    };
  }

  /** An admin's targets: every asset named, under the nodes, carrying the labels; unknown ids are errors. */
  private async adminTargets(input: CommandJobInput): Promise<{ su: SystemUser; assets: Asset[] }> {
    const su = await this.d.systemUsers.get(input.systemUser);
    return { su, assets: await this.assetsOf(input.assets ?? [], input.nodes ?? [], input.labels ?? []) };
  }

  /**
   * An operator's targets, learning nothing of what lies outside their grants ("no such asset"
   * and "not allowed" read the same): an asset named by id must be one they may run on as that
   * system user, else one refusal whether it exists or not; nodes and labels stand for those of
   * their assets under them or carrying them (an unknown node for none).
   */
  private async operatorTargets(user: User, input: CommandJobInput): Promise<{ su: SystemUser; assets: Asset[] }> {
    const su = await this.d.systemUsers.get(input.systemUser).catch((err: unknown) => {
      if (err instanceof NotFoundError) return null;
      throw err;
    });
    const named = input.assets ?? [];
    for (const id of named) {
      if (!su || !(await this.d.access.mayRunCommand(user, id, su.id))) throw await this.notRunnable(user, id, su);
    }
    if (!su) throw await this.notRunnable(user, null, null);
    const nodes: string[] = [];
    for (const n of input.nodes ?? []) if (await this.d.nodes.get(n).then(() => true, () => false)) nodes.push(n);
    const found = await this.assetsOf(named, nodes, input.labels ?? []);
    const assets: Asset[] = [];
    for (const a of found) if (await this.d.access.mayRunCommand(user, a.id, su.id)) assets.push(a);
    return { su, assets };
  }

  /** The refusal an operator reads: names only what their grants show them. */
  private async notRunnable(user: User, assetId: string | null, su: SystemUser | null): Promise<ForbiddenError> {
    const granted = await this.d.access.granted(user.id);
    const asset = granted.find((g) => g.asset.id === assetId)?.asset;
    const suShown = su !== null && granted.some((g) => g.systemUsers.some((s) => s.systemUser.id === su.id));
    return new ForbiddenError(`you may not run commands on ${asset ? `'${asset.name}'` : 'one of the chosen assets'} as ${suShown ? su.username : 'this system user'}`, { reason: 'command_not_allowed' });
  }

  /** Assets by id plus every asset under the given nodes (with descendants), each once, by name. */
  private async assetsOf(assetIds: string[], nodeIds: string[], labels: string[] = []): Promise<Asset[]> {
    const ids = new Set(assetIds);
    if (labels.length) {
      // Every asset that carries all these labels (`rack:r3`), as the asset list's label filter finds them.
      const rows = await whereLabels(this.d.ds.getRepository(AssetEntity).createQueryBuilder('a').select('a.id', 'id'), 'a.labels', labels).getRawMany<{ id: string }>();
      for (const r of rows) ids.add(r.id);
    }
    for (const n of nodeIds) {
      const subtree = await this.d.nodes.subtreeIds((await this.d.nodes.get(n)).id);
      const rows = await this.d.ds.createQueryBuilder().select('an.asset_id', 'id').from('asset_node', 'an').where('an.node_id IN (:...subtree)', { subtree }).getRawMany<{ id: string }>();
      for (const r of rows) ids.add(r.id);
    }
    if (ids.size === 0) return [];
    const found = await this.d.ds.getRepository(AssetEntity).findBy({ id: In([...ids]) });
    if (found.length < assetIds.length) {
      const missing = assetIds.filter((id) => !found.some((a) => a.id === id));
      if (missing.length) throw new ValidationError('unknown asset', { reason: 'unknown_asset', field: 'assets', missing });
    }
    return found.sort((a, b) => (a.name < b.name ? -1 : 1));
  }
}
