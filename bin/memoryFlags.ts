/**
 * V8 flags and environment every Bastion process runs with (package.json's start and bastion
 * scripts, the built bin's shebang written by scripts/build-server.mjs, the container's
 * entrypoint, and each gateway worker, whoever forks it). Issue 13: the gateway's footprint
 * and keystrokes beside bulk output.
 * A module of its own, so that what starts the product needs not load the product. The one
 * source: the shebang is made from the module built from this file; package.json's scripts and
 * the Dockerfile cannot import it and repeat it as text, and test/memoryFlags.test.ts fails when
 * a copy differs.
 *
 * - `--max-semi-space-size=2`: V8 lets the young generation grow to 2 × 16 MiB; a gateway's
 *   garbage is small and short-lived (per-packet objects, the payloads live outside the heap),
 *   so 2 MiB semi-spaces cost nothing measurable and take ~20 MB off each process's idle RSS.
 * - `--single-threaded-gc` (issue 13 item 8): V8 marks, scavenges and sweeps with helper
 *   threads by default. On a host whose cores are busy (twenty sessions' sshd, clients and the
 *   gateway itself on two cores) those threads wait for a core like any other, and the
 *   collection's pause waits for them: full collections of the gateway's ~40 MB heap paused it
 *   60–130 ms several times a second, scavenges up to 77 ms, and every keystroke in the process
 *   waited them out. Collected on the main thread alone they took 8–30 ms per 5 s in all (from
 *   120–390 ms) and the gateway's total GC time halved.
 * - `--v8-pool-size=1`: one V8 helper thread (background compilation; GC runs on the main
 *   thread) instead of four. A gateway host runs a process per core (the primary and its
 *   workers), so more helper threads only compete for the same cores; each costs a stack and
 *   a malloc arena (idle npm start: 8 threads per process instead of 11).
 */
export const MEMORY_FLAGS = ['--max-semi-space-size=2', '--single-threaded-gc', '--v8-pool-size=1'];

/**
 * glibc gives each thread that mallocs its own arena (up to 8 per core), and memory freed in
 * one is kept for that thread: V8's helper threads and libuv's pool left some 3–7 MB each in a
 * Node process. Two arenas serve a process whose JavaScript runs on one thread.
 * Set only where the environment does not say otherwise.
 */
export const MEMORY_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };
