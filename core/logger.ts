import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT = ['password', 'privateKey', 'secret', 'token', 'totp', '*.password', '*.privateKey', '*.secret', '*.token', 'req.headers.cookie', 'req.headers.authorization'];

export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '<redacted>' }, base: { pid: process.pid } });
}
