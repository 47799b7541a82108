// Line editing for the gateway's own prompts (menu, system-user choice, typed passwords):
// printable input is echoed, Backspace/Ctrl-W/Ctrl-U edit, Ctrl-C abandons the line,
// Ctrl-D on an empty line quits, Up/Down walk the prompt's history when it has one (the
// menu's), other escape sequences are ignored.
import { StringDecoder } from 'node:string_decoder';
import type { ServerChannel } from 'ssh2';

const MAX_LINE = 1024;

export interface ReadOptions {
  /** Echo typed characters (false for passwords). Default: the terminal's echo setting. */
  echo?: boolean;
  /** Lines submitted before, oldest first: Up/Down recall them, and a new non-empty line is added. Never for passwords. */
  history?: string[];
}

/** Lines a history keeps. */
const HISTORY = 100;

/** `null` means the operator quit (Ctrl-D on an empty line, EOF, channel closed). */
export type ReadResult = string | null;

const enum Esc {
  None,
  Start, // after ESC
  Csi, // after ESC [ : parameters until a final byte
  Ss3, // after ESC O : one more byte
}

export class LineReader {
  #decoder = new StringDecoder('utf8');
  #leftover = '';
  #esc = Esc.None;
  #escParams = false;
  #lastWasCr = false;
  #closed = false;

  /** `echo` is true when the operator has a PTY (the remote side echoes), false for `ssh -T`. */
  constructor(private readonly channel: ServerChannel, private readonly echo: boolean) {
    channel.once('close', () => {
      this.#closed = true;
    });
  }

  write(text: string): void {
    if (this.channel.writable) this.channel.write(text);
  }

  /** Shows the prompt and resolves with the submitted line. */
  read(prompt: string, opts: ReadOptions = {}): Promise<ReadResult> {
    const echo = opts.echo ?? this.echo;
    this.write(prompt);
    if (this.#closed || !this.channel.readable) return Promise.resolve(null);
    const history = echo ? opts.history : undefined;
    return new Promise((resolve) => {
      let line = '';
      // Where Up/Down are in the history; history.length is the line being typed (kept in draft).
      let recalled = history?.length ?? 0;
      let draft = '';
      const replaceLine = (next: string): void => {
        this.write('\b \b'.repeat([...line].length) + next);
        line = next;
      };
      const recall = (final: number): void => {
        if (!history) return;
        const to = final === 0x41 ? recalled - 1 : final === 0x42 ? recalled + 1 : recalled;
        if (to < 0 || to > history.length || to === recalled) return;
        if (recalled === history.length) draft = line;
        recalled = to;
        replaceLine(to === history.length ? draft : history[to]!);
      };
      const finish = (result: ReadResult, rest: string): void => {
        if (history && result && result.trim() && history.at(-1) !== result) {
          history.push(result);
          if (history.length > HISTORY) history.splice(0, history.length - HISTORY);
        }
        this.channel.off('data', onData);
        this.channel.off('end', onEnd);
        this.channel.off('close', onEnd);
        this.channel.pause();
        this.#leftover = rest;
        resolve(result);
      };
      const feed = (text: string): void => {
        for (let i = 0; i < text.length; i++) {
          const ch = text[i]!;
          const code = ch.charCodeAt(0);
          const wasCr = this.#lastWasCr;
          this.#lastWasCr = false;
          if (this.#esc !== Esc.None) {
            const final = this.#skipEscape(code);
            if (final !== null) recall(final);
            continue;
          }
          if (ch === '\r' || ch === '\n') {
            if (ch === '\n' && wasCr) continue; // CR LF counts once
            this.#lastWasCr = ch === '\r';
            this.write('\r\n');
            return finish(line, text.slice(i + 1));
          }
          switch (code) {
            case 0x1b:
              this.#esc = Esc.Start;
              continue;
            case 0x03: // Ctrl-C: abandon the line
              this.write('^C\r\n');
              return finish('', text.slice(i + 1));
            case 0x04: // Ctrl-D: quit on an empty line
              if (line.length === 0) {
                this.write('\r\n');
                return finish(null, text.slice(i + 1));
              }
              continue;
            case 0x7f:
            case 0x08: {
              if (line.length === 0) continue;
              const chars = [...line];
              chars.pop();
              line = chars.join('');
              if (echo) this.write('\b \b');
              continue;
            }
            case 0x15: // Ctrl-U
              if (echo) this.write('\b \b'.repeat([...line].length));
              line = '';
              continue;
            case 0x17: { // Ctrl-W
              const kept = line.replace(/\S+\s*$/, '');
              if (echo) this.write('\b \b'.repeat([...line].length - [...kept].length));
              line = kept;
              continue;
            }
            default:
              break;
          }
          if (code < 0x20 || (code >= 0x80 && code < 0xa0)) continue;
          if (line.length >= MAX_LINE) continue;
          line += ch;
          if (echo) this.write(ch);
        }
      };
      const onData = (chunk: Buffer): void => feed(this.#decoder.write(chunk));
      const onEnd = (): void => finish(null, '');
      const rest = this.#leftover;
      this.#leftover = '';
      this.channel.on('data', onData);
      this.channel.once('end', onEnd);
      this.channel.once('close', onEnd);
      if (rest) feed(rest);
      this.channel.resume();
    });
  }

  /** Input typed ahead of the prompt's line, to hand to whoever reads the channel next (a backend shell). */
  takeTypeahead(): Buffer {
    const rest = this.#leftover + this.#decoder.end();
    this.#decoder = new StringDecoder('utf8');
    this.#leftover = '';
    this.#esc = Esc.None;
    return Buffer.from(rest, 'utf8');
  }

  /** Consumes one byte of an escape sequence; returns the final byte of a parameterless CSI or SS3 sequence (ESC [ A is Up). */
  #skipEscape(code: number): number | null {
    switch (this.#esc) {
      case Esc.Start:
        this.#esc = code === 0x5b ? Esc.Csi : code === 0x4f ? Esc.Ss3 : Esc.None;
        this.#escParams = false;
        return null;
      case Esc.Csi:
        if (code >= 0x40 && code <= 0x7e) {
          this.#esc = Esc.None;
          return this.#escParams ? null : code;
        }
        this.#escParams = true;
        return null;
      default:
        this.#esc = Esc.None;
        return code;
    }
  }
}
