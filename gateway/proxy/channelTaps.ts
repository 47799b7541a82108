// The one channel pipeline's table (DESIGN rule 12, STYLE "one list of channel kinds"): which
// taps a session gets is decided here, from the channel kind, whether the operator has a PTY,
// and the exec command — never by a channel handler. LiveSession.open() takes only a TapPlan
// (it opens the recording and the command recorder from it) and bridge() attaches the command
// guard from it, so a handler that opens a session and bridges it gets every tap it is due.
//
//   kind              recording    command guard        command log                    transfer log
//   shell, PTY        terminal     every submitted line  lines read from the screen     -
//   shell, no PTY     terminal     every stdin line      every stdin line (refused ones as denied)  -
//   exec,  PTY        terminal     every submitted line  the command + screen lines     -
//                                  (an interactive terminal, exactly like a shell)
//   exec,  no PTY     transfer     the command line; a program that reads its commands from
//                     (terminal when the program reads its commands from stdin: `ssh host bash`
//                     is a shell typed into, recorded whole like `ssh -T`, input included, its
//                     stdin lines in the command log)
//                                  stdin (bash, sh, python3, sudo sh…) is refused while deny or
//                                  confirm filters apply (BASTION_EXEC_STDIN_SHELL=allow lets it run)
//                                               the command                    -
//   legacy scp        none (its FileTransfer rows are its record; each file checked against
//                     upload/download)          the command                    scp
//   rsync --server    transfer     - (needs upload or download; see rsyncProtocol.ts)   the command     rsync (a row per file)
//   sftp              none (FileTransfer rows, each request checked)         -  sftp
//   tunnel            none (bytes counted; `tunnel` action only)             -  -
import type { Action, SessionKind } from '../../core/db/entities/index.ts';
import { parseLegacyScp, type LegacyScp } from './scpProtocol.ts';
import { parseRsyncServer, type RsyncServer } from './rsyncProtocol.ts';
import { stdinInterpreter } from '../../core/access/stdinInterpreter.ts';

export type ChannelKind = 'shell' | 'exec' | 'scp' | 'rsync' | 'sftp' | 'tunnel';

export interface TapPlan {
  readonly channel: ChannelKind;
  readonly sessionKind: SessionKind;
  readonly action: Action;
  readonly pty: boolean;
  /**
   * 'terminal': an asciicast of what the operator saw; 'transfer': the byte streams of an exec
   * without a terminal; 'none': the record is elsewhere (FileTransfer rows, tunnel byte counts).
   */
  readonly recording: 'terminal' | 'transfer' | 'none';
  /** Every line the operator submits is checked by the command filters before it reaches the asset. */
  readonly commandGuard: boolean;
  /**
   * Where the command log's lines come from: read from the terminal ('screen'), the lines sent on
   * stdin to a shell without one ('stdin'), or nowhere (null: the exec command alone is logged).
   */
  readonly commandRecorder: 'screen' | 'stdin' | null;
  /** The exec command line is checked (and logged) before anything starts. */
  readonly commandLine: boolean;
  /** A program reading its commands from stdin is refused while deny/confirm filters apply. */
  readonly refuseStdinProgram: boolean;
  readonly transferLog: 'scp' | 'rsync' | 'sftp' | null;
  /** Legacy scp's parsed command (channel 'scp' only). */
  readonly scp: LegacyScp | null;
  /** rsync's server command (channel 'rsync' only). */
  readonly rsync: RsyncServer | null;
}

const PLANS: Record<ChannelKind, (pty: boolean) => Omit<TapPlan, 'channel' | 'pty' | 'scp' | 'rsync'>> = {
  shell: (pty) => ({ sessionKind: 'shell', action: 'connect', recording: 'terminal', commandGuard: true, commandRecorder: pty ? 'screen' : 'stdin', commandLine: false, refuseStdinProgram: false, transferLog: null }),
  exec: (pty) => ({
    sessionKind: 'exec', action: 'connect', recording: pty ? 'terminal' : 'transfer',
    commandGuard: pty, commandRecorder: pty ? 'screen' : null, commandLine: true, refuseStdinProgram: !pty, transferLog: null,
  }),
  scp: () => ({ sessionKind: 'exec', action: 'connect', recording: 'none', commandGuard: false, commandRecorder: null, commandLine: true, refuseStdinProgram: false, transferLog: 'scp' }),
  rsync: () => ({ sessionKind: 'exec', action: 'connect', recording: 'transfer', commandGuard: false, commandRecorder: null, commandLine: true, refuseStdinProgram: false, transferLog: 'rsync' }),
  sftp: () => ({ sessionKind: 'sftp', action: 'connect', recording: 'none', commandGuard: false, commandRecorder: null, commandLine: false, refuseStdinProgram: false, transferLog: 'sftp' }),
  tunnel: () => ({ sessionKind: 'tunnel', action: 'tunnel', recording: 'none', commandGuard: false, commandRecorder: null, commandLine: false, refuseStdinProgram: false, transferLog: null }),
};

/** The taps of a shell, SFTP or tunnel channel. */
export function planTaps(channel: Exclude<ChannelKind, 'exec' | 'scp' | 'rsync'>, pty: boolean): TapPlan {
  return Object.freeze({ channel, pty, scp: null, rsync: null, ...PLANS[channel](pty) });
}

/** The taps of an exec: legacy scp or rsync when the whole command is such a transfer, else a command. */
export function planExec(command: string, pty: boolean): TapPlan {
  const scp = parseLegacyScp(command);
  const rsync = scp ? null : parseRsyncServer(command);
  const channel: ChannelKind = scp ? 'scp' : rsync ? 'rsync' : 'exec';
  const plan = PLANS[channel](pty);
  // A transfer recording keeps no stdin and only the ends of the output: right for `cat file`,
  // an audit hole for a shell or interpreter driven from stdin (commands typed for hours, none kept).
  // Such an exec is a shell typed into: recorded whole, its stdin lines in the command log.
  if (channel === 'exec' && !pty && stdinInterpreter(command).kind !== 'none') {
    return Object.freeze({ channel, pty, scp, rsync, ...plan, recording: 'terminal' as const, commandRecorder: 'stdin' as const });
  }
  return Object.freeze({ channel, pty, scp, rsync, ...plan });
}
