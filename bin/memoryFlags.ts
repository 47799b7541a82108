/**
 * V8 flags every Bastion process runs with (package.json's start and bastion scripts, the
 * built bin's shebang written by scripts/build-server.mjs, the container's entrypoint, and
 * each gateway worker, whoever forks it). V8 lets
 * the young generation grow to 2 × 16 MiB; a gateway's garbage is small and short-lived
 * (per-packet objects, the payloads live outside the heap), so 2 MiB semi-spaces cost nothing
 * measurable and take ~20 MB off each process's idle RSS (issue 13: the gateway's footprint).
 *
 * --single-threaded-gc (issue 13 item 8, keystrokes beside bulk output): V8 marks, scavenges
 * and sweeps with helper threads by default. On a host whose cores are busy (twenty sessions'
 * sshd, clients and the gateway itself on two cores) those threads wait for a core like any
 * other, and the collection's pause waits for them: full collections of the gateway's ~40 MB
 * heap paused it 60–130 ms several times a second, scavenges up to 77 ms, and every keystroke
 * in the process waited them out. Collected on the main thread alone they took 8–30 ms per
 * 5 s in all (from 120–390 ms) and the gateway's total GC time halved.
 * A module of its own, so that what starts the product needs not load the product.
 */
export const MEMORY_FLAGS = ['--max-semi-space-size=2', '--single-threaded-gc'];
