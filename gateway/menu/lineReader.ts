// Line editing for the gateway's own prompts (menu, system-user choice, typed passwords), as
// readline does it: printable input goes in at the cursor; Left/Right (Ctrl-B/F), Home/End
// (Ctrl-A/E), Backspace, Delete, Ctrl-K/U/W edit; Ctrl-C abandons the line; Ctrl-D quits on
// an empty line and deletes under the cursor otherwise; Up/Down walk the prompt's history
// when it has one (the menu's); other escape sequences are ignored. lineEditor.ts holds the
// line and draws it.
import { StringDecoder } from 'node:string_decoder';
import type { OperatorChannel } from '../operatorChannel.ts';
import { LineEditor } from './lineEditor.ts';

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
  #escParams = '';
  #lastWasCr = false;
  #closed = false;

  /** `echo` is true when the operator has a PTY (the remote side echoes), false for `ssh -T`. */
  constructor(private readonly channel: OperatorChannel, private readonly echo: boolean) {
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
      const line = new LineEditor(echo, MAX_LINE);
      const draw = (out: string): void => {
        if (out) this.write(out);
      };
      // Where Up/Down are in the history; history.length is the line being typed (kept in draft).
      let recalled = history?.length ?? 0;
      let draft = '';
      const recall = (up: boolean): void => {
        if (!history) return;
        const to = up ? recalled - 1 : recalled + 1;
        if (to < 0 || to > history.length) return;
        if (recalled === history.length) draft = line.text;
        recalled = to;
        draw(line.replace(to === history.length ? draft : history[to]!));
      };
      /** A finished escape sequence: its final byte and parameters (ESC [ 3 ~ is Delete). */
      const escape = (final: number, params: string): void => {
        const key = String.fromCharCode(final);
        if (params === '' && (key === 'A' || key === 'B')) return recall(key === 'A');
        if (params === '' && key === 'C') return draw(line.right());
        if (params === '' && key === 'D') return draw(line.left());
        if ((params === '' && key === 'H') || (key === '~' && (params === '1' || params === '7'))) return draw(line.home());
        if ((params === '' && key === 'F') || (key === '~' && (params === '4' || params === '8'))) return draw(line.end());
        if (key === '~' && params === '3') return draw(line.deleteForward());
      };
      const finish = (result: ReadResult, rest: string): void => {
        if (history && result && result.trim() && history.at(-1) !== result) {
          history.push(result);
          if (history.length > HISTORY) history.splice(0, history.length - HISTORY);
        }
        this.channel.off('data', onData);
        this.channel.off('end', onEnd);
        this.channel.off('close', onEnd);
        this.channel.off('drain', onDrained);
        this.channel.pause();
        this.#leftover = rest;
        resolve(result);
      };
      /**
       * Input not read yet because the operator has not taken the output it made: a key can make
       * a whole line of output (Up recalls one, each Enter a prompt), so a client that sends keys
       * and reads nothing had the gateway queue their echo without bound (DESIGN rule 13: 8 MiB of
       * Enter grew it by 570 MiB). Its channel is paused meanwhile: ssh2 stops opening its window.
       */
      let stash = '';
      const onDrained = (): void => {
        const text = stash;
        stash = '';
        this.channel.resume();
        feed(text);
      };
      const feed = (text: string): void => {
        if (stash) {
          stash += text;
          return;
        }
        for (let i = 0; i < text.length; i++) {
          if (this.channel.writableNeedDrain) {
            stash = text.slice(i);
            this.channel.pause();
            this.channel.once('drain', onDrained);
            return;
          }
          const ch = text[i]!;
          const code = ch.charCodeAt(0);
          const wasCr = this.#lastWasCr;
          this.#lastWasCr = false;
          if (this.#esc !== Esc.None) {
            const final = this.#skipEscape(code);
            if (final !== null) escape(final, this.#escParams);
            continue;
          }
          if (ch === '\r' || ch === '\n') {
            if (ch === '\n' && wasCr) continue; // CR LF counts once
            this.#lastWasCr = ch === '\r';
            this.write('\r\n');
            return finish(line.text, text.slice(i + 1));
          }
          switch (code) {
            case 0x1b:
              this.#esc = Esc.Start;
              continue;
            case 0x03: // Ctrl-C: abandon the line
              this.write('^C\r\n');
              return finish('', text.slice(i + 1));
            case 0x04: // Ctrl-D: quit on an empty line, else delete under the cursor
              if (line.empty) {
                this.write('\r\n');
                return finish(null, text.slice(i + 1));
              }
              draw(line.deleteForward());
              continue;
            case 0x7f:
            case 0x08:
              draw(line.backspace());
              continue;
            case 0x01: // Ctrl-A
              draw(line.home());
              continue;
            case 0x05: // Ctrl-E
              draw(line.end());
              continue;
            case 0x02: // Ctrl-B
              draw(line.left());
              continue;
            case 0x06: // Ctrl-F
              draw(line.right());
              continue;
            case 0x0b: // Ctrl-K
              draw(line.killToEnd());
              continue;
            case 0x15: // Ctrl-U
              draw(line.killToStart());
              continue;
            case 0x17: // Ctrl-W
              draw(line.killWordBack());
              continue;
            default:
              break;
          }
          if (code < 0x20 || (code >= 0x80 && code < 0xa0)) continue;
          // A surrogate pair is one character: take both halves together.
          const next = code >= 0xd800 && code <= 0xdbff && i + 1 < text.length ? ch + text[++i]! : ch;
          draw(line.insert(next));
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
      if (!stash) this.channel.resume();
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

  /** Consumes one byte of an escape sequence; returns the final byte of a CSI or SS3 sequence (ESC [ A is Up), its parameters in #escParams. */
  #skipEscape(code: number): number | null {
    switch (this.#esc) {
      case Esc.Start:
        this.#esc = code === 0x5b ? Esc.Csi : code === 0x4f ? Esc.Ss3 : Esc.None;
        this.#escParams = '';
        return null;
      case Esc.Csi:
        if (code >= 0x40 && code <= 0x7e) {
          this.#esc = Esc.None;
          return code;
        }
        // Parameters are short (ESC [ 1 ; 5 C); a longer run is not a key and is only skipped.
        if (this.#escParams.length < 16) this.#escParams += String.fromCharCode(code);
        else this.#escParams = '?';
        return null;
      default:
        this.#esc = Esc.None;
        return code;
    }
  }
}
