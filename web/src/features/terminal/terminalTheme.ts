import type { ITheme } from '@xterm/xterm';

/** The terminal in the app's colours (app/theme.ts: primary #1f6feb) on a dark ground, as a shell is usually read. */
export const TERMINAL_THEME: ITheme = {
  background: '#0d1117',
  foreground: '#e6edf3',
  cursor: '#1f6feb',
  cursorAccent: '#0d1117',
  selectionBackground: '#1f6feb66',
  black: '#484f58', red: '#ff7b72', green: '#3fb950', yellow: '#d29922', blue: '#58a6ff', magenta: '#bc8cff', cyan: '#39c5cf', white: '#b1bac4',
  brightBlack: '#6e7681', brightRed: '#ffa198', brightGreen: '#56d364', brightYellow: '#e3b341', brightBlue: '#79c0ff', brightMagenta: '#d2a8ff', brightCyan: '#56d4dd', brightWhite: '#f0f6fc',
};

export const TERMINAL_FONT = 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Noto Sans Mono CJK SC", "Sarasa Mono SC", monospace';

const FONT_KEY = 'bastion.terminal.fontSize';
export const FONT_SIZES = { min: 9, max: 28, default: 14 };

export function savedFontSize(): number {
  const n = Number(globalThis.localStorage?.getItem(FONT_KEY));
  return Number.isInteger(n) && n >= FONT_SIZES.min && n <= FONT_SIZES.max ? n : FONT_SIZES.default;
}

export function saveFontSize(n: number): void {
  globalThis.localStorage?.setItem(FONT_KEY, String(n));
}
