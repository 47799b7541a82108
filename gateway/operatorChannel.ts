// The operator's side of a session as the channel pipeline sees it: a byte stream with a
// stderr and an exit. An ssh2 ServerChannel is one; the web terminal's socket (gateway/web/
// webChannel.ts) is another. The PTY size and its resize events travel beside it in
// SessionState, as they do for SSH, so bridge, command guard, recorders and line reader
// cannot tell the two faces apart.
import type { Duplex, Writable } from 'node:stream';

export interface OperatorChannel extends Duplex {
  readonly stderr: Writable;
  exit(status: number): void;
  exit(signalName: string, coreDumped?: boolean, msg?: string): void;
}
