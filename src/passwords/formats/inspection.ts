/**
 * Outcome of reading a stored hash string. The reason names what is wrong (a field, a length)
 * and never quotes the hash, since parse errors end up in import reports and logs.
 */
export type Inspection<T> = { ok: true; value: T } | { ok: false; reason: string };

export function valid<T>(value: T): Inspection<T> {
  return { ok: true, value };
}

export function invalid<T>(reason: string): Inspection<T> {
  return { ok: false, reason };
}
