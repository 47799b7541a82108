import { pino, type Logger } from 'pino';
import { createRequire } from 'node:module';

export type { Logger };

const REDACT = ['password', 'privateKey', 'secret', 'token', 'totp', '*.password', '*.privateKey', '*.secret', '*.token', 'req.headers.cookie', 'req.headers.authorization'];

export type LogFormat = 'auto' | 'json' | 'pretty';

/** Whether logs go out as short readable lines (a person at a terminal) rather than JSON. */
export function logsArePretty(format: LogFormat, isTerminal = process.stdout.isTTY === true): boolean {
  return format === 'pretty' || (format === 'auto' && isTerminal);
}

/**
 * JSON lines (pino) for log collectors, or short coloured lines for a person at a terminal:
 * `auto` picks by whether stdout is a terminal, so a newcomer's `npm start` reads well and a
 * container's or service manager's output stays machine-readable.
 */
export function createLogger(level: string, format: LogFormat = 'auto', out: { isTerminal: boolean; stream?: NodeJS.WritableStream } = { isTerminal: process.stdout.isTTY === true }): Logger {
  const options = { level, redact: { paths: REDACT, censor: '<redacted>' }, base: { pid: process.pid } };
  if (!logsArePretty(format, out.isTerminal)) return out.stream ? pino(options, out.stream) : pino(options);
  // Loaded only for a person at a terminal: machine-readable processes (services, containers,
  // gateway workers behind a pipe) do not carry its ~10 MB of RSS.
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  // Synchronous, in this thread: a line is out before a crash exits the process.
  return pino(options, pretty({
    colorize: out.isTerminal, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname', singleLine: true, sync: true,
    ...(out.stream ? { destination: out.stream } : {}),
  }));
}
