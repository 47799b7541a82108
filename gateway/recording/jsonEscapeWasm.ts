/**
 * JSON string escaping of already-valid UTF-8, in a tiny WebAssembly function.
 *
 * Why: the recorder must escape every byte of a session's output, and a JavaScript byte
 * loop costs 4-8 ns a byte on modest hardware (as much as the SSH crypto of the same
 * bytes), which halved the throughput of recorded sessions. This loop checks 8 bytes at a
 * time with word tricks (SWAR) and copies clean words whole, so plain text runs at
 * memcpy-like speed; in a word that is not clean, the bytes before the first one that
 * needs care are kept from the same 8-byte store, and only that byte takes the table path.
 * Writes may run up to 8 bytes past the returned end: the caller leaves that slack.
 *
 * The per-byte rules come from tables in linear memory that castText.ts fills, so the
 * WebAssembly and the JavaScript fallback (used for invalid UTF-8) share one definition:
 *   memory[0..255]    action per byte: 0 copy, 1 two-byte escape, 2 \u00XX escape, 3 drop
 *   memory[256..511]  the escape letter for action 1 (n, r, t, b, f, ", \)
 *   memory[512..527]  hex digits
 * Bytes ≥ 0x80 are copied: the caller has checked the input is valid UTF-8.
 *
 * The module is assembled here from its opcodes (there is no wasm toolchain in the
 * project); the text form is in the comments. Exports: `escape(src, n, dst) → bytes
 * written` and `memory`.
 */

const I32 = 0x7f;
const I64 = 0x7e;

// Opcodes used.
const op = {
  block: 0x02, loop: 0x03, if: 0x04, end: 0x0b, br: 0x0c, brIf: 0x0d, void: 0x40,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load8U: 0x2d, i64Load: 0x29, i32Store8: 0x3a, i64Store: 0x37,
  i32Const: 0x41, i64Const: 0x42,
  i32Eqz: 0x45, i32Eq: 0x46, i32GeU: 0x4f, i32LeU: 0x4d, i64Eqz: 0x50,
  i32Add: 0x6a, i32Sub: 0x6b, i32And: 0x71, i32ShrU: 0x76,
  i64Sub: 0x7d, i64And: 0x83, i64Or: 0x84, i64Xor: 0x85, i64Ctz: 0x7a, i32WrapI64: 0xa7,
} as const;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function sleb(v: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}

const i32 = (n: number): number[] => [op.i32Const, ...sleb(BigInt(n))];
const i64 = (n: bigint): number[] => [op.i64Const, ...sleb(BigInt.asIntN(64, n))];
const get = (l: number): number[] => [op.localGet, l];
const set = (l: number): number[] => [op.localSet, l];
const mem = (offset: number, align = 0): number[] => [align, ...uleb(offset)];
const repeat = (byte: number): bigint => BigInt(byte) * 0x0101010101010101n;

// Locals: 0 src, 1 n, 2 dst (params); 3 i, 4 o, 5 b, 6 c (i32); 7 x, 8 y (i64).
const [SRC, N, DST, I, O, B, C, X, Y] = [0, 1, 2, 3, 4, 5, 6, 7, 8];

/** `(y - 0x01…01) & ~y`: its high bits are set only if some byte of y is zero (exact as a yes/no). */
const hasZeroByteOfXor = (byte: number): number[] => [
  ...get(X), ...i64(repeat(byte)), op.i64Xor, op.localTee, Y,
  ...i64(repeat(0x01)), op.i64Sub, ...get(Y), ...i64(-1n), op.i64Xor, op.i64And,
];

const body: number[] = [
  ...get(DST), ...set(O), //                                  o = dst
  op.block, op.void,
  op.loop, op.void,
  // Fast path: 8 bytes with none below 0x20, and none of 0x22 ", 0x5c \, 0x7f DEL.
  ...get(I), ...i32(8), op.i32Add, ...get(N), op.i32LeU, //    if (i + 8 <= n)
  op.if, op.void,
  ...get(SRC), ...get(I), op.i32Add, op.i64Load, ...mem(0), op.localSet, X,
  ...get(X), ...i64(repeat(0x20)), op.i64Sub, ...get(X), ...i64(-1n), op.i64Xor, op.i64And, // bytes < 0x20
  ...hasZeroByteOfXor(0x22), op.i64Or,
  ...hasZeroByteOfXor(0x5c), op.i64Or,
  ...hasZeroByteOfXor(0x7f), op.i64Or,
  ...i64(repeat(0x80)), op.i64And, op.localTee, Y, //           y = the flagged bytes' high bits
  op.i64Eqz,
  op.if, op.void, //                                           clean: copy the word
  ...get(O), ...get(X), op.i64Store, ...mem(0),
  ...get(I), ...i32(8), op.i32Add, ...set(I),
  ...get(O), ...i32(8), op.i32Add, ...set(O),
  op.br, 2, //                                                 continue (if, if, loop)
  op.end,
  // Not clean: the lowest flagged byte is exactly the first that needs care (borrows only
  // run upwards). Store the whole word, keep its clean prefix (what follows overwrites
  // the rest), and handle that byte below.
  ...get(Y), op.i64Ctz, op.i32WrapI64, ...i32(3), op.i32ShrU, ...set(C), // c = its index
  ...get(O), ...get(X), op.i64Store, ...mem(0),
  ...get(I), ...get(C), op.i32Add, ...set(I),
  ...get(O), ...get(C), op.i32Add, ...set(O),
  op.end,
  // One byte by its table entry.
  ...get(I), ...get(N), op.i32GeU, op.brIf, 1, //              if (i >= n) break
  ...get(SRC), ...get(I), op.i32Add, op.i32Load8U, ...mem(0), ...set(B),
  ...get(I), ...i32(1), op.i32Add, ...set(I),
  ...get(B), op.i32Load8U, ...mem(0), op.localTee, C, //      c = action[b]
  op.i32Eqz,
  op.if, op.void, //                                           0: copy
  ...get(O), ...get(B), op.i32Store8, ...mem(0),
  ...get(O), ...i32(1), op.i32Add, ...set(O),
  op.br, 1,
  op.end,
  ...get(C), ...i32(3), op.i32Eq, op.brIf, 0, //               3: drop
  ...get(O), ...i32(0x5c), op.i32Store8, ...mem(0), //         a backslash, then
  ...get(C), ...i32(1), op.i32Eq,
  op.if, op.void, //                                           1: its letter
  ...get(O), ...get(B), op.i32Load8U, ...mem(256), op.i32Store8, ...mem(1),
  ...get(O), ...i32(2), op.i32Add, ...set(O),
  op.br, 1,
  op.end,
  ...get(O), ...i32(0x75), op.i32Store8, ...mem(1), //         2: u00XX
  ...get(O), ...i32(0x30), op.i32Store8, ...mem(2),
  ...get(O), ...i32(0x30), op.i32Store8, ...mem(3),
  ...get(O), ...get(B), ...i32(4), op.i32ShrU, op.i32Load8U, ...mem(512), op.i32Store8, ...mem(4),
  ...get(O), ...get(B), ...i32(15), op.i32And, op.i32Load8U, ...mem(512), op.i32Store8, ...mem(5),
  ...get(O), ...i32(6), op.i32Add, ...set(O),
  op.br, 0,
  op.end,
  op.end,
  ...get(O), ...get(DST), op.i32Sub, //                        return o - dst
  op.end,
];

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
  const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'latin1')];
  const code = [0x02, 0x04, I32, 0x02, I64, ...body]; // locals: 4 × i32, 2 × i64
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 0x03, I32, I32, I32, 0x01, I32]), // (func (param i32 i32 i32) (result i32))
    ...section(3, [0x01, 0x00]),
    ...section(5, [0x01, 0x00, ...uleb(1)]), //                  memory, 1 page to start
    ...section(7, [0x02, ...name('escape'), 0x00, 0x00, ...name('memory'), 0x02, 0x00]),
    ...section(10, [0x01, ...uleb(code.length), ...code]),
  ]);
}

export const TABLE_BYTES = 1024;

export interface JsonEscaper {
  escape(src: number, n: number, dst: number): number;
  memory: WebAssembly.Memory;
}

/** Instantiates the escaper; `fill` writes the tables into memory[0..TABLE_BYTES). */
export function createJsonEscaper(fill: (tables: Uint8Array) => void): JsonEscaper {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()));
  const exports = instance.exports as unknown as { escape: JsonEscaper['escape']; memory: WebAssembly.Memory };
  fill(new Uint8Array(exports.memory.buffer, 0, TABLE_BYTES));
  return { escape: exports.escape, memory: exports.memory };
}
