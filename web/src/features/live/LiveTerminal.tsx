import { useEffect, useRef } from 'react';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { watchSession, type WatchMessage } from './watchSocket.ts';

export type LiveState = 'connecting' | 'live' | 'ended';

/** A read-only xterm fed by the session's watch socket: the current screen first, then the output as it happens. */
export function LiveTerminal({ sessionId, onState }: { sessionId: string; onState: (s: LiveState) => void }) {
  const host = useRef<HTMLDivElement>(null);
  const stateRef = useRef(onState);
  stateRef.current = onState;

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const term = new Terminal({
      disableStdin: true, cursorBlink: false, convertEol: false, scrollback: 5000, fontSize: 13,
      fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
    });
    term.open(el);
    stateRef.current('connecting');
    const onMessage = (m: WatchMessage) => {
      switch (m.type) {
        case 'init':
          term.reset();
          if (m.cols > 0 && m.rows > 0) term.resize(m.cols, m.rows);
          term.write(m.data);
          stateRef.current('live');
          break;
        case 'output':
          term.write(m.data);
          break;
        case 'resize':
          if (m.cols > 0 && m.rows > 0) term.resize(m.cols, m.rows);
          break;
        case 'ended':
          stateRef.current('ended');
          break;
      }
    };
    const close = watchSession(sessionId, { onMessage, onClose: () => stateRef.current('ended') });
    return () => {
      close();
      term.dispose();
    };
  }, [sessionId]);

  return <div ref={host} className="live-terminal" data-testid="live-terminal" />;
}
