// The scaffolding of the command-guard suites (gateway.filters, gateway.execguard): operators
// granted web01, filters scoped to one of them, real ssh2 shells, and markers on the asset whose
// existence tells whether a command ran.
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { SYSTEM_ACTOR } from '../../core/actor.ts';
import { CommandEntity, type CommandRecord, type FilterAction, type User } from '../../core/db/entities/index.ts';
import { eventually, openShell, ssh2Login, type Screen, type World } from '../gatewayFixture.ts';

export const PROMPT = /\$ (\x1b\[K)?$/;
/**
 * What an Enter that a filter may refuse ends in: the refusal and then the fresh prompt after
 * the guard's Ctrl-C, or (no refusal) the next prompt. Keys sent before that Ctrl-C has been
 * taken can be lost to bash's SIGINT handling, so tests wait for it before typing on.
 */
export const REFUSED_OR_PROMPT = /command refused\b[^\r\n]*\r\n[\s\S]*\^C[\s\S]*\$ (\x1b\[K)?$|^(?![\s\S]*command refused)[\s\S]*\$ (\x1b\[K)?$/;

export type Operator = User & { password: string };

/** `world()` is the suite's default world; `tag` names its markers, users and passwords apart from other suites'. */
export function guardedShells(world: () => World, tag: { marker: string; user: string; password: string }) {
  let seq = 0;
  const markers: string[] = [];
  return {
    /** A fresh number for names in this suite. */
    next: (): number => ++seq,
    /** A path on the asset (the loopback sshd) whose existence tells whether a command ran. */
    marker(what: string): string {
      const path = `/tmp/bastion-${tag.marker}-${process.pid}-${what}-${++seq}`;
      markers.push(path);
      return path;
    },
    removeMarkers(): void {
      for (const m of markers) rmSync(m, { recursive: true, force: true });
    },
    async operator(w = world()): Promise<Operator> {
      const password = `${tag.password}-${++seq}-xyz`;
      const user = await w.f.user({ username: `${tag.user}${seq}`, password });
      await w.f.permission({ users: [user.id], assets: [w.web01.id], systemUsers: [w.su.id] });
      return Object.assign(user, { password });
    },
    filter(user: User, pattern: string, action: FilterAction, w = world()) {
      return w.bastion.services.commandFilters.create(SYSTEM_ACTOR, { name: `${action}-${pattern.replace(/\W+/g, '')}-${++seq}`, kind: 'commands', pattern, action, users: [user.id] });
    },
    async shell(user: Operator, w = world()): Promise<{ screen: Screen; end: () => void }> {
      const client = await ssh2Login(w.gw.port, { username: `${user.username}@web01`, password: user.password });
      const screen = await openShell(client);
      await screen.waitFor(PROMPT);
      return { screen, end: () => client.end() };
    },
    commands(userId: string, ok: (rows: CommandRecord[]) => boolean): Promise<CommandRecord[]> {
      return eventually(() => world().bastion.services.ds.getRepository(CommandEntity).find({ where: { userId }, order: { createdAt: 'ASC' } }), ok);
    },
    /**
     * After the Ctrl-C that drops a refused line, bash may redraw its prompt only once the next
     * key arrives (when the SIGINT lands while readline waits for input), and that redraw can
     * still be on its way when a plain prompt pattern already matches. A command whose output
     * cannot be mistaken for its echo tells when the shell has caught up with everything sent.
     * Keys that reach bash while it still handles that SIGINT can be lost ("cho: command not
     * found", ci69): the command is then sent again, up to three times.
     */
    async freshPrompt(screen: Screen): Promise<void> {
      for (let attempt = 1; ; attempt++) {
        const seen = await screen.send('echo caught-up-$((40+2))\r', /caught-up-42\r\n[\s\S]*\$ (\x1b\[K)?$|command not found[\s\S]*\$ (\x1b\[K)?$/);
        if (/caught-up-42\r\n/.test(seen)) return;
        if (attempt === 3) throw new Error(`the shell did not run the probe command after three tries; screen:\n${seen}`);
      }
    },
    /** A command that would have run by now did not: its marker is absent a moment later. */
    async assertNotRun(path: string, message: string): Promise<void> {
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(existsSync(path), false, message);
    },
  };
}
