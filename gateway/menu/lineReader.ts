// Line editing for the gateway's own prompts (menu, system-user choice, typed passwords):
// printable input is echoed, Backspace/Ctrl-W/Ctrl-U edit, Ctrl-C abandons the line,
// Ctrl-D on an empty line quits, arrow keys and other escape sequences are ignored.
import { StringDecoder } from 'node:string_decoder';
import type { ServerChannel } from 'ssh2';

const MAX_LINE = 1024;

export interface ReadOptions {
  /** Echo typed characters (false for passwords). Default: the terminal's echo setting. */
  echo?: boolean;
}

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
    return new Promise((resolve) => {
      let line = '';
      const finish = (result: ReadResult, rest: string): void => {
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
            this.#skipEscape(code);
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

  #skipEscape(code: number): void {
    switch (this.#esc) {
      case Esc.Start:
        this.#esc = code === 0x5b ? Esc.Csi : code === 0x4f ? Esc.Ss3 : Esc.None;
        return;
      case Esc.Csi:
        if (code >= 0x40 && code <= 0x7e) this.#esc = Esc.None;
        return;
      default:
        this.#esc = Esc.None;
    }
  }
}
