let allowed: boolean | null = null;

/**
 * Whether this page may compile WebAssembly: asciinema-player's terminal is WebAssembly, and a
 * Content-Security-Policy without 'wasm-unsafe-eval' in script-src forbids it. Synchronous (an
 * empty module compiles in microseconds), so the page knows on its first render and mounts the
 * player in that render rather than one re-render (and one paint) later.
 */
export function wasmAllowed(): boolean {
  if (allowed === null) {
    try {
      new WebAssembly.Module(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
      allowed = true;
    } catch {
      allowed = false;
    }
  }
  return allowed;
}
