import argon2 from "argon2";

export type Argon2Variant = "argon2id" | "argon2i" | "argon2d";

/** m is memory in KiB, t the number of passes, p the lanes: the names of the encoded string. */
export interface Argon2Params {
  m: number;
  t: number;
  p: number;
}

// The PHC encoding that argon2.verify reads. v= is absent in pre-1.3 hashes. libargon2 writes
// m,t,p but node-argon2 writes m,p,t, so parameters are read in any order; data= appears when
// associated data was used. Salt and hash are unpadded base64.
const ENCODED = /^\$(argon2id|argon2i|argon2d)\$(?:v=(?:16|19)\$)?([^$]+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/;
const PARAM = /^(?:([mtp])=([1-9][0-9]{0,9})|data=[A-Za-z0-9+/]+)$/;

// RFC 9106's costliest recommendation is 2 GiB with one pass. A corrupt stored value must not
// make a login allocate more than that or pin a threadpool thread for minutes.
const MAX: Argon2Params = { m: 2 * 1024 * 1024, t: 1000, p: 255 };

function parse(stored: string): { variant: Argon2Variant; params: Argon2Params } | null {
  const match = ENCODED.exec(stored);
  if (match === null) return null;
  const values = new Map<string, number>();
  for (const param of (match[2] ?? "").split(",")) {
    const kv = PARAM.exec(param);
    if (kv === null) return null;
    const [, key, value] = kv;
    if (key === undefined) continue;
    if (values.has(key)) return null;
    values.set(key, Number(value));
  }
  const [m, t, p] = [values.get("m"), values.get("t"), values.get("p")];
  if (m === undefined || t === undefined || p === undefined) return null;
  if (m > MAX.m || t > MAX.t || p > MAX.p) return null;
  return { variant: match[1] as Argon2Variant, params: { m, t, p } };
}

export function argon2Variant(stored: string): Argon2Variant | null {
  return parse(stored)?.variant ?? null;
}

export function argon2Params(stored: string): Argon2Params | null {
  return parse(stored)?.params ?? null;
}

export function isArgon2id(stored: string): boolean {
  return argon2Variant(stored) === "argon2id";
}

/** argon2.verify hashes on the threadpool; it throws on parameters libargon2 rejects. */
export async function verifyArgon2(stored: string, password: string | Buffer): Promise<boolean> {
  try {
    return await argon2.verify(stored, password);
  } catch {
    return false;
  }
}
