import { forwardRef, useLayoutEffect, useImperativeHandle, useRef } from 'react';
import { create, type Player, type Source } from 'asciinema-player';
import 'asciinema-player/dist/bundle/asciinema-player.css';
import type { PlayerRecording } from './playbackQueries.ts';

export interface PlayerHandle {
  /** Seeks to a player time in seconds; resolves once the screen shows it. */
  seek(seconds: number): Promise<void>;
  play(): void;
  pause(): void;
  /** Player time in seconds. */
  currentTime(): number;
  fullscreen(): void;
}

interface Props {
  recording: PlayerRecording;
  speed: number;
  /** Seconds; null keeps pauses as recorded. */
  idleTimeLimit: number | null;
  /** Player time (seconds) to open at. */
  startAt: number;
  onReady?: () => void;
  onPlayingChange?: (playing: boolean) => void;
  onError?: (message: string) => void;
}

type Listen = (name: string, handler: () => void) => void;

/**
 * asciinema-player over a segmented recording (3.18's `format: "segmented"`: opening and seeking
 * fetch one segment, whatever the recording's size) or over an already parsed one. Changing speed
 * or the idle limit re-creates only the player. The container carries data-state and data-time
 * for tests and the playback bench.
 */
export const AsciinemaPlayer = forwardRef<PlayerHandle, Props>(function AsciinemaPlayer({ recording, speed, idleTimeLimit, startAt, onReady, onPlayingChange, onError }, ref) {
  const host = useRef<HTMLDivElement>(null);
  const player = useRef<Player | null>(null);
  const callbacks = useRef({ onReady, onPlayingChange, onError });
  callbacks.current = { onReady, onPlayingChange, onError };
  const startRef = useRef(startAt);
  startRef.current = startAt;

  // A layout effect: the player (and its first request) starts in the commit that shows it, not after the paint.
  useLayoutEffect(() => {
    const el = host.current;
    if (!el) return;
    el.dataset.state = 'loading';
    const common = { preload: true, speed, fit: 'width', terminalFontSize: 'small', controls: true, cursorMode: 'steady' } as const;
    let p: Player;
    if (recording.kind === 'segmented') {
      // The segmented source takes no idleTimeLimit (the server shortens pauses, ?idle=) and no parser.
      // startAt makes the first segment fetched the one the page opens at.
      const src = { url: recording.indexUrl(idleTimeLimit), format: 'segmented' } as Source;
      p = create(src, el, { ...common, startAt: startRef.current });
    } else {
      const { cast } = recording;
      p = create(
        // The recording object goes through as is: `data` hands it to the identity parser.
        { data: () => ({ cols: cast.cols, rows: cast.rows, events: cast.events }) as unknown as Record<string, unknown>, parser: (d: unknown) => d as { cols: number; rows: number; events: Iterable<[number, 'o', string]> } },
        el,
        { ...common, idleTimeLimit: idleTimeLimit ?? undefined },
      );
    }
    player.current = p;
    const listen = p.addEventListener as unknown as Listen;
    // startAt only applies when playback starts: seek there first, so the screen shows that moment at once.
    listen('metadata', () => {
      const at = startRef.current;
      void (at > 0 ? p.seek(at) : Promise.resolve()).then(() => {
        el.dataset.time = p.getCurrentTime().toFixed(2);
        el.dataset.state = 'ready';
        callbacks.current.onReady?.();
      });
    });
    listen('play', () => callbacks.current.onPlayingChange?.(true));
    listen('playing', () => callbacks.current.onPlayingChange?.(true));
    listen('pause', () => callbacks.current.onPlayingChange?.(false));
    listen('ended', () => callbacks.current.onPlayingChange?.(false));
    listen('error', () => { el.dataset.state = 'error'; callbacks.current.onError?.('player error'); });
    const timer = setInterval(() => { el.dataset.time = p.getCurrentTime().toFixed(2); }, 200);
    return () => {
      clearInterval(timer);
      player.current = null;
      p.dispose();
      el.replaceChildren();
    };
  }, [recording, speed, idleTimeLimit]);

  useImperativeHandle(ref, () => ({
    async seek(seconds: number) {
      const p = player.current;
      const el = host.current;
      if (!p || !el) return;
      const t0 = performance.now();
      await p.seek(Math.max(0, seconds));
      // The seek is done when the next frame shows it.
      await new Promise((r) => requestAnimationFrame(() => r(null)));
      el.dataset.time = p.getCurrentTime().toFixed(2);
      el.dataset.lastSeekMs = (performance.now() - t0).toFixed(1);
      el.dataset.seeks = String(Number(el.dataset.seeks ?? 0) + 1);
    },
    play() { void player.current?.play(); },
    pause() { void player.current?.pause(); },
    currentTime() { return player.current?.getCurrentTime() ?? 0; },
    fullscreen() { void host.current?.requestFullscreen?.(); },
  }), []);

  return <div ref={host} className="session-player" data-testid="session-player" />;
});
