/** `p`, or a failure naming `what` after `ms`: for waits on other processes that might never end. */
export function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what()} (waited ${ms} ms)`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
