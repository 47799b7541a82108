/**
 * Messages between the gateway's primary and its workers over node's IPC channel: each kind is
 * an object marked by a key of its own whose value is a number (a connection's id, a ping's
 * sequence), so one guard shape serves them all.
 */

/** The guard for messages of the kind marked by `key`. */
export function numberedMessage<T extends object>(key: keyof T & string): (m: unknown) => m is T {
  return (m: unknown): m is T => typeof m === 'object' && m !== null && typeof (m as Record<string, unknown>)[key] === 'number';
}

/** A worker's channel to its primary (`process`). */
export interface PrimaryChannel {
  on(event: 'message', listener: (m: unknown, handle: unknown) => void): unknown;
  send?(message: unknown, callback: (err: Error | null) => void): boolean;
}
