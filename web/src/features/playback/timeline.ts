import type { CastEvent } from './castParser.ts';

/** A pause in a recording: the times (ms) of the event before it and of the one after. */
export type Pause = [startMs: number, endMs: number];

/** Pauses shorter than this are not listed: the idle limits offered start at one second. */
export const MIN_PAUSE_MS = 1000;

/** The pauses of a parsed recording longer than MIN_PAUSE_MS, counted from t = 0 as the player does. */
export function pausesOf(events: readonly CastEvent[]): Pause[] {
  const out: Pause[] = [];
  let prev = 0;
  for (const [t] of events) {
    if (t - prev > MIN_PAUSE_MS) out.push([prev, t]);
    prev = t;
  }
  return out;
}

interface Gap {
  /** Original times (ms) of the event before and after the pause. */
  start: number;
  end: number;
  /** Time removed by the idle limit before this gap. */
  shiftBefore: number;
}

/**
 * Maps between the recording's own time and the player's time when pauses longer than
 * `idleLimitMs` are shortened (asciinema-player's idleTimeLimit, or the server doing the same
 * for segmented recordings), so that a command's offset still seeks to the right moment and
 * the current command follows the player.
 */
export class Timeline {
  readonly #gaps: Gap[] = [];
  readonly #limit: number;

  constructor(pauses: readonly Pause[], idleLimitMs: number | null) {
    this.#limit = idleLimitMs ?? Infinity;
    if (idleLimitMs === null) return;
    let shift = 0;
    for (const [start, end] of pauses) {
      const delay = end - start;
      if (delay > idleLimitMs) {
        this.#gaps.push({ start, end, shiftBefore: shift });
        shift += delay - idleLimitMs;
      }
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
