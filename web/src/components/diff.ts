/** The fields of `next` that differ from `initial` (deep compare by JSON), for PATCH bodies with only the changed fields. */
export function changedFields<T extends object>(initial: Partial<T>, next: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(next) as (keyof T)[]) {
    const a = initial[key];
    const b = next[key];
    if (b === undefined) continue;
    if (JSON.stringify(a ?? null) !== JSON.stringify(b ?? null)) out[key] = b;
  }
  return out;
}
