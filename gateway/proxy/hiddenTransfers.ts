// A command that runs a file-transfer server on the asset in a form the gateway does not read
// as one plain invocation: `sudo scp -t /tmp`, `env rsync --server …` (rsync's --rsync-path),
// `sh -c 'scp -f …'`, `nice`, `timeout 5`, `command`, `exec`, or an SFTP server started by exec
// (`sftp -s /usr/lib/openssh/sftp-server`, WinSCP's `sudo …/sftp-server`). It stays an ordinary
// exec (recorded as one, its taps an exec's), but it moves files in a direction the bastion
// cannot tell — and for an SFTP server, past the SFTP proxy's per-request checks — so it needs
// both upload and download, never only connect.
//
// What this is not: a sandbox. `connect` runs commands, and a command can move bytes
// (`cat > f`, `base64`); upload and download govern the transfer protocols operators' tools
// speak (SFTP, scp, rsync), in whatever plain or wrapped form they are asked for. A command
// built to hide the program's name (`${x}p -t`) is not recognised: that is a shell, which
// `connect` grants.
// Nor is an inspector's name (grep, ls…) made to run something else before this command: a
// function of that name in the account's ~/.bashrc, written by an earlier exec, is not seen here.
import { parseLegacyScp } from './scpProtocol.ts';

export type HiddenTransfer = 'rsync' | 'scp' | 'sftp';

/** `rsync` followed somewhere by `--server`: the remote half of every rsync over SSH. */
const RSYNC_SERVER = /rsync\b[\s\S]*--server\b/;
/**
 * `scp`, then a word of scp's value-less flags holding -t (sink) or -f (source): its server
 * modes. The letters are OpenSSH scp's flags without a value, so a client's `scp -oStrict…`
 * run on the asset (to a third host) is not taken for one.
 */
const SCP_SERVER = /\bscp\b[\s\S]*?(?:^|[\s'"=])-[1-46ABCTOdpqRrsv]*[tf][1-46ABCTOdfpqRrstv]*(?=$|[\s'";&|)])/;
/** OpenSSH's SFTP server binary, or sshd's built-in one (a forced command on some assets). */
const SFTP_SERVER = /sftp-server\b|\binternal-sftp\b/;

/**
 * Programs that only look at things and run nothing they are given (no `-exec`, pager, `--pre` or
 * output a shell could be piped): a piece of a command run by one of them names a transfer
 * server as data (`grep internal-sftp /etc/ssh/sshd_config`, `ps aux | grep sftp-server`).
 */
const INSPECTORS = new Set(['grep', 'egrep', 'fgrep', 'pgrep', 'ps', 'ls', 'stat', 'which', 'whereis', 'type']);

/** Where the system's own inspectors are: one called by a path elsewhere (`/tmp/grep`, `./ls`) is anybody's program of that name. */
const SYSTEM_DIRS = new Set(['/bin', '/usr/bin', '/sbin', '/usr/sbin']);

/**
 * What in a command can make an inspector's bare name run something else: a shell function or
 * alias of that name (`grep(){ "$@"; }; grep …/sftp-server`), or a PATH or shell start-up file of
 * its own. A command with any of these passes over no piece.
 */
const RENAMES = /\w\s*\(\s*\)|\b(?:function|alias|hash|enable|PATH|BASH_ENV|ENV)\b/;

/** The pieces of a command that run one program each, split naively (quotes ignored: a quoted `;` only makes more pieces, each still checked). */
const SEGMENT = /[|;&\n()`]|\$\(/;

/** Whether a piece of a command starts with a program that only looks at things: the system's, by its bare name or from a system directory. */
function inspects(segment: string): boolean {
  const first = segment.trim().split(/\s+/, 1)[0]?.replace(/^['"]+|['"]+$/g, '') ?? '';
  const slash = first.lastIndexOf('/');
  if (slash >= 0 && !SYSTEM_DIRS.has(first.slice(0, slash))) return false;
  return INSPECTORS.has(first.slice(slash + 1));
}

/**
 * The transfer server a command runs without being one plain invocation of it, or null. A
 * command read exactly as legacy scp or rsync (channelTaps.ts) is not asked here: its own
 * direction decides.
 */
export function hiddenTransferServer(command: string): HiddenTransfer | null {
  const pieces = command.split(SEGMENT);
  const segments = RENAMES.test(command) ? pieces : pieces.filter((s) => !inspects(s));
  if (segments.some((s) => SFTP_SERVER.test(s))) return 'sftp';
  if (segments.length > 0 && RSYNC_SERVER.test(segments.join(' '))) return 'rsync';
  if (segments.some((s) => SCP_SERVER.test(s)) && !parseLegacyScp(command)) return 'scp';
  return null;
}
