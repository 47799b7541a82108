// The channels of one kind one SSH connection holds at once (DESIGN rule 13), as OpenSSH's
// MaxSessions counts a connection's sessions: a slot is taken at channel-open, before any
// work is done for the channel, and given back when the channel closes or is refused.
export class ChannelSlots {
  #open = 0;

  constructor(readonly limit: number) {}

  /** A slot and the function that gives it back (once, however often called), or null when all are taken. */
  take(): (() => void) | null {
    if (this.#open >= this.limit) return null;
    this.#open++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#open--;
    };
  }
}
