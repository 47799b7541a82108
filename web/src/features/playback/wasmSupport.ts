let allowed: Promise<boolean> | null = null;

/**
 * Whether this page may compile WebAssembly: asciinema-player's terminal is WebAssembly, and a
 * Content-Security-Policy without 'wasm-unsafe-eval' in script-src forbids it.
 */
export function wasmAllowed(): Promise<boolean> {
  allowed ??= WebAssembly.compile(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00])).then(() => true, () => false);
  return allowed;
}
