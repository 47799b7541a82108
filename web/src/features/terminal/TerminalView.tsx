import { useEffect, useImperativeHandle, useRef, type Ref } from 'react';
import { Modal } from 'antd';
import { useTranslation } from 'react-i18next';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { SearchAddon } from '@xterm/addon-search';
import { Unicode11Addon } from '@xterm/addon-unicode11';
import { WebglAddon } from '@xterm/addon-webgl';
import '@xterm/xterm/css/xterm.css';
import { TerminalConnection, type TerminalStatus, type TerminalTarget } from './terminalSocket.ts';
import { TERMINAL_FONT, TERMINAL_THEME } from './terminalTheme.ts';

export interface TerminalHandle {
  copy(): Promise<void>;
  paste(): Promise<void>;
  findNext(text: string): boolean;
  findPrevious(text: string): boolean;
  focus(): void;
}

interface Props {
  target: TerminalTarget;
  fontSize: number;
  active: boolean;
  onStatus: (s: TerminalStatus) => void;
  onSession: (id: string) => void;
  handle?: Ref<TerminalHandle>;
}

/** Every line of the terminal's buffer (scrollback included), trailing blanks trimmed. */
function screenText(x: Terminal): string {
  const buf = x.buffer.active;
  const lines: string[] = [];
  for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i)?.translateToString(true) ?? '');
  return lines.join('\n').trimEnd();
}

/** A multi-line paste runs every line as a command: it is confirmed first (JumpServer's Luna does the same). */
function needsConfirm(text: string): boolean {
  return /[\r\n]/.test(text.replace(/[\r\n]+$/, ''));
}

/**
 * One browser terminal: xterm.js (fit, web links, search, Unicode 11 widths for CJK and emoji,
 * WebGL rendering or the DOM renderer when WebGL is not available) on the web terminal socket.
 * Keys go through as xterm encodes them (Ctrl-C, Ctrl-D, arrows, Tab); IME composition is xterm's.
 */
export function TerminalView({ target, fontSize, active, onStatus, onSession, handle }: Props) {
  const { t } = useTranslation();
  const host = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | null>(null);
  const fit = useRef<FitAddon | null>(null);
  const search = useRef<SearchAddon | null>(null);
  const conn = useRef<TerminalConnection | null>(null);
  const cb = useRef({ onStatus, onSession, t });
  cb.current = { onStatus, onSession, t };

  const confirmPaste = (text: string, paste: (s: string) => void) => {
    if (!needsConfirm(text)) {
      paste(text);
      return;
    }
    const lines = text.replace(/[\r\n]+$/, '').split(/\r\n|\r|\n/);
    Modal.confirm({
      title: cb.current.t('terminal.pasteTitle', { count: lines.length }),
      content: <pre className="terminal-paste-preview" data-testid="paste-preview">{text.length > 2000 ? `${text.slice(0, 2000)}…` : text}</pre>,
      okText: cb.current.t('terminal.pasteOk'),
      cancelText: cb.current.t('common.cancel'),
      onOk: () => paste(text),
      afterClose: () => term.current?.focus(),
    });
  };

  useImperativeHandle(handle, () => ({
    async copy() {
      const text = term.current?.getSelection() ?? '';
      if (text) await navigator.clipboard.writeText(text);
    },
    async paste() {
      const text = await navigator.clipboard.readText();
      if (text) confirmPaste(text, (s) => term.current?.paste(s));
    },
    findNext: (text) => search.current?.findNext(text) ?? false,
    findPrevious: (text) => search.current?.findPrevious(text) ?? false,
    focus: () => term.current?.focus(),
  }));

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const x = new Terminal({
      allowProposedApi: true, cursorBlink: true, scrollback: 10_000, fontSize, fontFamily: TERMINAL_FONT, theme: TERMINAL_THEME,
      macOptionIsMeta: true, rightClickSelectsWord: true,
    });
    const f = new FitAddon();
    const s = new SearchAddon();
    x.loadAddon(f);
    x.loadAddon(s);
    x.loadAddon(new WebLinksAddon());
    x.loadAddon(new Unicode11Addon());
    x.unicode.activeVersion = '11';
    x.open(el);
    try {
      const webgl = new WebglAddon();
      webgl.onContextLoss(() => webgl.dispose());
      x.loadAddon(webgl);
      el.dataset.renderer = 'webgl';
    } catch {
      // No WebGL (a VM without a GPU, a locked-down browser): xterm's DOM renderer draws instead.
      el.dataset.renderer = 'dom';
    }
    f.fit();
    // The screen as text, for end-to-end tests and tools (the WebGL renderer draws no DOM text).
    Object.assign(el, { terminalText: () => screenText(x) });
    term.current = x;
    fit.current = f;
    search.current = s;
    const c = new TerminalConnection(target, { cols: x.cols, rows: x.rows }, {
      output: (bytes) => x.write(bytes),
      status: (st) => {
        if (st.kind === 'ended') {
          const why = st.reason ? cb.current.t('terminal.endedBecause', { reason: st.reason }) : cb.current.t('terminal.ended');
          x.write(`\r\n\x1b[1;33m${why}\x1b[0m\r\n`);
          x.options.cursorBlink = false;
        }
        cb.current.onStatus(st);
      },
      session: (id) => cb.current.onSession(id),
    });
    conn.current = c;
    const onData = x.onData((d) => c.send(d));
    const onResize = x.onResize(({ cols, rows }) => c.resize(cols, rows));
    // Ctrl-Shift-C / Ctrl-Shift-V copy and paste (Ctrl-C and Ctrl-V go to the shell, as in a terminal).
    x.attachCustomKeyEventHandler((e) => {
      if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey) return true;
      if (e.code === 'KeyC') {
        const text = x.getSelection();
        if (text) void navigator.clipboard.writeText(text);
        return false;
      }
      if (e.code === 'KeyV') {
        void navigator.clipboard.readText().then((text) => { if (text) confirmPaste(text, (p) => x.paste(p)); });
        return false;
      }
      return true;
    });
    // A paste from the browser (Ctrl-V, the context menu) is looked at before xterm takes it.
    const onPaste = (e: ClipboardEvent) => {
      const text = e.clipboardData?.getData('text/plain') ?? '';
      if (!needsConfirm(text)) return;
      e.preventDefault();
      e.stopImmediatePropagation();
      confirmPaste(text, (p) => x.paste(p));
    };
    el.addEventListener('paste', onPaste, true);
    // Resize follows the window (and the tab's panel).
    const observer = new ResizeObserver(() => {
      if (el.offsetWidth > 0 && el.offsetHeight > 0) f.fit();
    });
    observer.observe(el);
    x.focus();
    return () => {
      observer.disconnect();
      el.removeEventListener('paste', onPaste, true);
      onData.dispose();
      onResize.dispose();
      c.close();
      x.dispose();
      term.current = null;
      conn.current = null;
    };
    // The terminal lives as long as its tab: font size and focus change it in place (below).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [target.asset, target.systemUser]);

  useEffect(() => {
    const x = term.current;
    if (!x) return;
    x.options.fontSize = fontSize;
    fit.current?.fit();
  }, [fontSize]);

  useEffect(() => {
    if (!active) return;
    fit.current?.fit();
    term.current?.focus();
  }, [active]);

  return <div ref={host} className="web-terminal" data-testid="web-terminal" data-active={active} />;
}
