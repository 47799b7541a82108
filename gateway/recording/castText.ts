/**
 * Turns terminal output bytes into asciicast event lines (`[t, "o", "<JSON string>"]`),
 * streaming.
 *
 * Why not `StringDecoder` + `JSON.stringify`: on Node 20 that costs ≈ 0.45 ms per
 * 64 KiB of ordinary log text (every `\r\n` takes V8 off its fast path), which alone caps
 * a recorded session near 90 MB/s; a JavaScript byte loop is not much better (4-8 ns a
 * byte). So: the batch is checked to be valid UTF-8 natively (`buffer.isUtf8`), then
 * escaped by a small WebAssembly loop that copies clean 8-byte words whole
 * (jsonEscapeWasm.ts); only a batch with invalid UTF-8 (binary output) takes the
 * JavaScript loop below. Either way:
 *
 * - UTF-8 is validated as a stream: a character split across chunks (or batches) is
 *   carried over and written whole; invalid bytes become U+FFFD, and a run of invalid
 *   bytes becomes a single U+FFFD (binary output then costs ≈ 1.3× its size, not 3×).
 * - `"` `\` and the C0 controls a terminal acts on (BEL, BS, HT, LF, VT, FF, CR, SO, SI,
 *   ESC) are escaped as JSON requires.
 * - The C0 controls a terminal ignores on display (NUL, 0x01–0x06, 0x10–0x1A, 0x1C–0x1F)
 *   and DEL are dropped: replaying them changes nothing on screen, and JSON would spend
 *   six bytes (`\u0000`) on each, so `cat /dev/zero` would grow the file 6× its size.
 *   (CAN/SUB, which abort an escape sequence, are dropped too: a documented, harmless loss.)
 *
 * The output is valid UTF-8 JSON string content, readable by `asciinema` (Python's json).
 */

import { isUtf8 } from 'node:buffer';
import { createJsonEscaper, TABLE_BYTES, type JsonEscaper } from './jsonEscapeWasm.ts';

const COPY = 0;
const SHORT_ESCAPE = 1;
const UNICODE_ESCAPE = 2;
const DROP = 3;
const LEAD2 = 4; // C2–DF
const LEAD_E0 = 5; // E0: second byte A0–BF
const LEAD3 = 6; // E1–EC, EE–EF
const LEAD_ED = 7; // ED: second byte 80–9F (no surrogates)
const LEAD_F0 = 8; // F0: second byte 90–BF
const LEAD4 = 9; // F1–F3
const LEAD_F4 = 10; // F4: second byte 80–8F
const INVALID = 11;

const CLASS = new Uint8Array(256);
const SHORT = new Uint8Array(128);
(() => {
  for (let b = 0; b < 256; b++) {
    if (b < 0x20 || b === 0x7f) CLASS[b] = DROP;
    else if (b < 0x80) CLASS[b] = COPY;
    else if (b < 0xc2) CLASS[b] = INVALID;
    else if (b < 0xe0) CLASS[b] = LEAD2;
    else if (b === 0xe0) CLASS[b] = LEAD_E0;
    else if (b === 0xed) CLASS[b] = LEAD_ED;
    else if (b < 0xf0) CLASS[b] = LEAD3;
    else if (b === 0xf0) CLASS[b] = LEAD_F0;
    else if (b < 0xf4) CLASS[b] = LEAD4;
    else if (b === 0xf4) CLASS[b] = LEAD_F4;
    else CLASS[b] = INVALID;
  }
  const short: Array<[number, string]> = [[0x22, '"'], [0x5c, '\\'], [0x08, 'b'], [0x09, 't'], [0x0a, 'n'], [0x0c, 'f'], [0x0d, 'r']];
  for (const [b, letter] of short) {
    CLASS[b] = SHORT_ESCAPE;
    SHORT[b] = letter.charCodeAt(0);
  }
  for (const b of [0x07, 0x0b, 0x0e, 0x0f, 0x1b]) CLASS[b] = UNICODE_ESCAPE;
})();

const HEX = new Uint8Array([...'0123456789abcdef'].map((ch) => ch.charCodeAt(0)));

function replacement(out: Uint8Array, o: number): number {
  out[o] = 0xef;
  out[o + 1] = 0xbf;
  out[o + 2] = 0xbd;
  return o + 3;
}

/** Bytes the encoder may write per input byte, at most (`\u001b` for ESC), plus a carried character. */
export const MAX_EXPANSION = 6;
export const MAX_CARRY = 6;

/** The byte loop: streaming UTF-8 validation and escaping, for output that is not valid UTF-8. */
export class Utf8JsonEncoder {
  // A multibyte character in progress: its bytes so far, how many continuation bytes are
  // still needed, and the allowed range of the next one.
  #seq = new Uint8Array(4);
  #seqLen = 0;
  #need = 0;
  #lo = 0x80;
  #hi = 0xbf;
  #lastWasReplacement = false;

  /** Encodes `src` into `out` from offset `o`; returns the new offset. `out` needs MAX_EXPANSION × src.length + MAX_CARRY bytes free. */
  encodeInto(src: Uint8Array, out: Uint8Array, o: number): number {
    const n = src.length;
    let i = 0;
    let lastRep = this.#lastWasReplacement;
    // A character carried over from the previous chunk is finished (or abandoned) first.
    while (this.#need > 0 && i < n) {
      const b = src[i]!;
      if (b < this.#lo || b > this.#hi) {
        this.#need = 0;
        this.#seqLen = 0;
        if (!lastRep) o = replacement(out, o);
        lastRep = true;
        break;
      }
      this.#seq[this.#seqLen++] = b;
      this.#lo = 0x80;
      this.#hi = 0xbf;
      i++;
      if (--this.#need === 0) {
        for (let k = 0; k < this.#seqLen; k++) out[o++] = this.#seq[k]!;
        this.#seqLen = 0;
        lastRep = false;
      }
    }
    // `o === repEnd` means the last thing written was a U+FFFD (runs of invalid bytes collapse).
    let repEnd = lastRep ? o : -1;
    while (i < n) {
      const b = src[i++]!;
      const c = CLASS[b]!;
      if (c === COPY) {
        out[o++] = b;
        continue;
      }
      if (c === SHORT_ESCAPE) {
        out[o++] = 0x5c;
        out[o++] = SHORT[b]!;
      } else if (c === UNICODE_ESCAPE) {
        out[o++] = 0x5c; out[o++] = 0x75; out[o++] = 0x30; out[o++] = 0x30;
        out[o++] = HEX[b >> 4]!;
        out[o++] = HEX[b & 15]!;
      } else if (c === DROP) {
        // nothing: see the file comment
      } else if (c === INVALID) {
        if (o !== repEnd) repEnd = o = replacement(out, o);
      } else {
        const need = c === LEAD2 ? 1 : c <= LEAD_ED ? 2 : 3;
        const lo = c === LEAD_E0 ? 0xa0 : c === LEAD_F0 ? 0x90 : 0x80;
        const hi = c === LEAD_ED ? 0x9f : c === LEAD_F4 ? 0x8f : 0xbf;
        let k = 0;
        let broken = false;
        for (; k < need && i + k < n; k++) {
          const cb = src[i + k]!;
          if (cb < (k === 0 ? lo : 0x80) || cb > (k === 0 ? hi : 0xbf)) {
            broken = true;
            break;
          }
        }
        if (broken) {
          // The bytes read so far are invalid; the byte that broke the sequence is read afresh.
          if (o !== repEnd) repEnd = o = replacement(out, o);
          i += k;
        } else if (k < need) {
          // The chunk ends inside the character: carry it over.
          this.#seq[0] = b;
          for (let j = 0; j < k; j++) this.#seq[1 + j] = src[i + j]!;
          this.#seqLen = 1 + k;
          this.#need = need - k;
          this.#lo = k === 0 ? lo : 0x80;
          this.#hi = k === 0 ? hi : 0xbf;
          i = n;
        } else {
          out[o++] = b;
          for (let j = 0; j < need; j++) out[o++] = src[i + j]!;
          i += need;
        }
      }
    }
    lastRep = o === repEnd;
    this.#lastWasReplacement = lastRep;
    return o;
  }

  /** Forgets a character in progress (after a gap in the stream). */
  reset(): void {
    this.#need = 0;
    this.#seqLen = 0;
    this.#lastWasReplacement = false;
  }

  /** At the end of the stream: a character left incomplete becomes U+FFFD. */
  endInto(out: Uint8Array, o: number): number {
    if (this.#need > 0) {
      this.#need = 0;
      this.#seqLen = 0;
      if (!this.#lastWasReplacement) o = replacement(out, o);
    }
    this.#lastWasReplacement = false;
    return o;
  }
}

// The WebAssembly escaper and its memory are shared by every recording in the process:
// encoding is synchronous, so two recordings never use them at the same time.
let escaper: JsonEscaper | null = null;
function sharedEscaper(): JsonEscaper {
  escaper ??= createJsonEscaper((tables) => {
    for (let b = 0; b < 256; b++) {
      const c = CLASS[b]!;
      tables[b] = c === SHORT_ESCAPE ? 1 : c === UNICODE_ESCAPE ? 2 : c === DROP ? 3 : 0;
      tables[256 + b] = b < 128 ? SHORT[b]! : 0;
    }
    tables.set(HEX, 512);
  });
  return escaper;
}

const PAGE = 65536;

// Big event lines are copied into recycled 128 KiB slabs rather than new buffers: a
// session streaming output makes thousands of them a second, and allocating each would
// keep the garbage collector busy (external memory). A slab comes back with
// releaseEventLine() once the file has taken it.
const SLAB = 128 * 1024;
const SLAB_MIN_USE = 16 * 1024;
const MAX_FREE_SLABS = 16;
const freeSlabs: ArrayBuffer[] = [];

function eventLine(bytes: Uint8Array): Buffer {
  if (bytes.length < SLAB_MIN_USE || bytes.length > SLAB) return Buffer.from(bytes);
  const line = Buffer.from(freeSlabs.pop() ?? new ArrayBuffer(SLAB), 0, bytes.length);
  line.set(bytes);
  return line;
}

/** Gives a line returned by CastTextEncoder.event() back for reuse, once it is written. */
export function releaseEventLine(line: Buffer): void {
  if (line.byteOffset !== 0 || line.buffer.byteLength !== SLAB || line.length < SLAB_MIN_USE) return;
  if (freeSlabs.length < MAX_FREE_SLABS) freeSlabs.push(line.buffer as ArrayBuffer);
}

/** Length of an incomplete UTF-8 character at the end of bytes[from, to): 0 to 3. */
function incompleteTail(bytes: Uint8Array, from: number, to: number): number {
  for (let k = 1; k <= 3 && to - k >= from; k++) {
    const b = bytes[to - k]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    if (b < 0xc0) return 0; // ASCII (or a stray byte the validator will judge)
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    return length > k ? k : 0;
  }
  return 0;
}

/**
 * One stream (a session's output, or its input) turned into event lines. A character
 * split between two batches is carried to the next one; at the end it becomes U+FFFD.
 */
export class CastTextEncoder {
  #carry: Uint8Array = new Uint8Array(0);
  readonly #fallback = new Utf8JsonEncoder();

  /**
   * `prefix` + the escaped text of `chunks` + `"]\n`, as a new Buffer; null when nothing
   * visible remains (all of it dropped, or carried). `end`: no more input will follow.
   */
  event(prefix: string, chunks: readonly Uint8Array[], end: boolean): Buffer | null {
    const esc = sharedEscaper();
    let total = this.#carry.length;
    for (const c of chunks) total += c.length;
    const src = TABLE_BYTES;
    const dst = src + total + 8;
    const needed = dst + prefix.length + MAX_EXPANSION * total + MAX_CARRY + 8;
    if (esc.memory.buffer.byteLength < needed) esc.memory.grow(Math.ceil((needed - esc.memory.buffer.byteLength) / PAGE));
    const memory = new Uint8Array(esc.memory.buffer);
    let at = src;
    memory.set(this.#carry, at);
    at += this.#carry.length;
    for (const c of chunks) {
      memory.set(c, at);
      at += c.length;
    }
    const tail = end ? 0 : incompleteTail(memory, src, at);
    const length = total - tail;
    this.#carry = tail > 0 ? memory.slice(at - tail, at) : new Uint8Array(0);
    let o = dst;
    for (let i = 0; i < prefix.length; i++) memory[o++] = prefix.charCodeAt(i);
    const textStart = o;
    if (isUtf8(memory.subarray(src, src + length))) {
      o += esc.escape(src, length, o);
    } else {
      o = this.#fallback.encodeInto(memory.subarray(src, src + length), memory, o);
      o = this.#fallback.endInto(memory, o);
    }
    if (o === textStart) return null;
    memory[o++] = 0x22; // "
    memory[o++] = 0x5d; // ]
    memory[o++] = 0x0a; // \n
    return eventLine(memory.subarray(dst, o));
  }

  /** Forgets a character in progress (after a gap in the stream). */
  reset(): void {
    this.#carry = new Uint8Array(0);
  }
}
