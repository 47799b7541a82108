/**
 * What a stop may take before a process exits anyway. The process a container runtime
 * (docker/podman stop) or a service manager signals gets 8 s, under the 10 s they wait before
 * SIGKILL, so the exit is our own. Its gateway workers get less, so that a worker stuck in its
 * shutdown exits (or is killed) while its primary still waits for it, and never outlives it.
 */
export const SHUTDOWN_DEADLINE_MS = 8_000;
export const WORKER_SHUTDOWN_DEADLINE_MS = 6_000;
/** After this, the primary kills a worker that did not exit by itself (its own deadline failed too). */
export const WORKER_KILL_AFTER_MS = WORKER_SHUTDOWN_DEADLINE_MS + 800;
