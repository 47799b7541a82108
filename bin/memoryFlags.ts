/**
 * V8 flags every Bastion process runs with (package.json's start and bastion scripts, the
 * built bin's shebang written by scripts/build-server.mjs, the container's entrypoint, and
 * each gateway worker, whoever forks it). V8 lets
 * the young generation grow to 2 × 16 MiB; a gateway's garbage is small and short-lived
 * (per-packet objects, the payloads live outside the heap), so 2 MiB semi-spaces cost nothing
 * measurable and take ~20 MB off each process's idle RSS (issue 13: the gateway's footprint).
 * A module of its own, so that what starts the product needs not load the product.
 */
export const MEMORY_FLAGS = ['--max-semi-space-size=2'];
