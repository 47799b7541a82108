// BASTION_UNUSED_CONNECTION_TIMEOUT_SECONDS, as OpenSSH 9.2's UnusedConnectionTimeout: a logged-in
// connection with no open channel (no session, no tunnel) for that long is closed. Off (0) by
// default, as in OpenSSH: `ssh -N -L …` holding a port forward and a ControlMaster between
// commands sit with no channel for as long as their user wants; BASTION_MAX_CONNECTIONS_PER_USER
// is what bounds the connections a user may leave lying around.
export class UnusedConnectionTimer {
  #open = 0;
  #timer: NodeJS.Timeout | null = null;
  #armed = false;

  /** `ms` 0: never. `expire` is called once, when the connection has had no channel for `ms`. */
  constructor(private readonly ms: number, private readonly expire: () => void) {}

  /** The login completed: from now on, no channel for `ms` ends the connection. */
  start(): void {
    this.#armed = true;
    this.#restart();
  }

  /** A channel opened (counted from channel-open); returns the function to call once when it closes. */
  opened(): () => void {
    this.#open++;
    this.#clear();
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.#open--;
      this.#restart();
    };
  }

  stop(): void {
    this.#armed = false;
    this.#clear();
  }

  #restart(): void {
    if (!this.#armed || this.ms <= 0 || this.#open > 0) return;
    this.#clear();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.stop();
      this.expire();
    }, this.ms);
    this.#timer.unref();
  }

  #clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
