// What the operator asked for on one session channel before (and during) the shell or
// exec: the PTY, its size, and the environment that may be passed on.
import type { ClientChannel, PseudoTtyInfo, PseudoTtyOptions, TerminalModes } from 'ssh2';
import { boundedSize } from '../../core/terminalSize.ts';

/** Rule 3: only these reach the backend. Everything else (LD_PRELOAD, BASH_ENV…) is dropped. */
export function forwardableEnv(name: string, value: string): boolean {
  if (!(name === 'TERM' || name === 'LANG' || /^LC_[A-Z]+$/.test(name))) return false;
  return value.length <= 256 && !/[\u0000-\u001f\u007f]/.test(value);
}

export type ResizeListener = (cols: number, rows: number, width: number, height: number) => void;

export class SessionState {
  pty: (PseudoTtyInfo & { modes?: TerminalModes }) | null = null;
  readonly env: Record<string, string> = {};
  cols = 80;
  rows = 24;
  width = 0;
  height = 0;
  /** The backend channel signals are passed to, while one runs. */
  signalTarget: ClientChannel | null = null;
  readonly #resize = new Set<ResizeListener>();

  setPty(info: PseudoTtyInfo & { modes?: TerminalModes }): void {
    this.pty = info;
    this.resize(info.cols, info.rows, info.width, info.height);
  }

  resize(cols: number, rows: number, width: number, height: number): void {
    // A zero size keeps the last good one; a huge one is cut to the maximum (rule 13), before
    // it reaches the backend PTY, the recording or anyone replaying it.
    const size = boundedSize(cols, rows, { cols: this.cols, rows: this.rows });
    this.cols = size.cols;
    this.rows = size.rows;
    // Pixels: informational for the backend, bounded all the same (16 pixels per cell is plenty).
    this.width = Math.max(0, Math.min(Math.floor(width) || 0, size.cols * 16));
    this.height = Math.max(0, Math.min(Math.floor(height) || 0, size.rows * 32));
    for (const fn of this.#resize) fn(this.cols, this.rows, this.width, this.height);
  }

  onResize(fn: ResizeListener): () => void {
    this.#resize.add(fn);
    return () => this.#resize.delete(fn);
  }

  /** The PTY to request from the backend, same type, size and modes as the operator's. */
  backendPty(): PseudoTtyOptions | null {
    if (!this.pty) return null;
    return {
      term: this.pty.term || 'xterm-256color', cols: this.cols, rows: this.rows, width: this.width, height: this.height,
      ...(this.pty.modes ? { modes: this.pty.modes } : {}),
    };
  }

  /** The environment to pass to the backend (TERM travels in the PTY request). */
  backendEnv(): Record<string, string> {
    const env = { ...this.env };
    if (this.pty) delete env.TERM;
    return env;
  }
}
