// Telling "the database is unreachable" from every other failure, so that callers can say so
// (HTTP 503 database_unavailable) instead of a bare internal error or, worse, a wrong answer.

/** Socket and PostgreSQL codes of a database that cannot be reached or is going away. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  // PostgreSQL: admin shutdown, crash shutdown, cannot connect now, connection exceptions (class 08).
  '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006',
  // SQLite: the file cannot be opened or read (disk gone, permissions changed under us).
  'SQLITE_CANTOPEN', 'SQLITE_IOERR',
]);

const UNAVAILABLE_MESSAGES = /Connection terminated|connection (?:is )?closed|Client has encountered a connection error|timeout exceeded when trying to connect|the database system is (?:starting up|shutting down|in recovery mode)|Client was closed and is not queryable/i;

/** Whether `err` (a TypeORM QueryFailedError, a pg error, a socket error) says the database cannot be reached. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown } | null | undefined, depth = 0; e && depth < 4; depth++) {
    if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
    if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message)) return true;
    e = (e.driverError ?? e.cause) as typeof e;
  }
  return false;
}
