import type { CastEvent } from './castParser.ts';

interface Gap {
  /** Original times (ms) of the event before and after the pause. */
  start: number;
  end: number;
  /** Time removed by the idle limit before this gap. */
  shiftBefore: number;
}

/**
 * Maps between the recording's own time and the player's time when the player shortens
 * pauses longer than `idleLimitMs` (asciinema-player's idleTimeLimit), so that a command's
 * offset still seeks to the right moment and the current command follows the player.
 */
export class Timeline {
  readonly #gaps: Gap[] = [];
  readonly #limit: number;

  constructor(events: readonly CastEvent[], idleLimitMs: number | null) {
    this.#limit = idleLimitMs ?? Infinity;
    if (idleLimitMs === null) return;
    let prev = 0;
    let shift = 0;
    for (const [t] of events) {
      const delay = t - prev;
      if (delay > idleLimitMs) {
        this.#gaps.push({ start: prev, end: t, shiftBefore: shift });
        shift += delay - idleLimitMs;
      }
      prev = t;
    }
  }

  /** Recording time (ms) → player time (ms). */
  toPlayer(ms: number): number {
    const gaps = this.#gaps;
    let lo = 0;
    let hi = gaps.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (gaps[mid]!.start <= ms) lo = mid + 1;
      else hi = mid;
    }
    const g = gaps[lo - 1];
    if (!g) return ms;
    if (ms >= g.end) return ms - (g.shiftBefore + (g.end - g.start - this.#limit));
    return ms - g.shiftBefore - Math.max(0, ms - g.start - this.#limit);
  }

  /** Player time (ms) → recording time (ms). */
  toOriginal(ms: number): number {
    const gaps = this.#gaps;
    let lo = 0;
    let hi = gaps.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (gaps[mid]!.start - gaps[mid]!.shiftBefore <= ms) lo = mid + 1;
      else hi = mid;
    }
    const g = gaps[lo - 1];
    if (!g) return ms;
    const playerStart = g.start - g.shiftBefore;
    if (ms <= playerStart + this.#limit) return g.start + (ms - playerStart);
    return ms + g.shiftBefore + (g.end - g.start - this.#limit);
  }
}
