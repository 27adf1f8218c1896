import { isExpired } from "../core/authenticate.js";
import { canExportToMosquitto } from "../passwords/formats/index.js";
import type { ClientRecord, Store } from "../store/types.js";

export interface MosquittoExport {
  /** A mosquitto 2.0 password file: `username:hash` lines. */
  text: string;
  exported: number;
  /** Clients left out, and why: mosquitto could not read the hash, or would not treat the row alike. */
  skipped: { username: string; reason: string }[];
}

function reasonToSkip(c: ClientRecord, at: Date): string | null {
  if (!c.isEnabled) return "disabled (a mosquitto password file cannot say so)";
  if (isExpired(c, at)) return "expired (a mosquitto password file cannot say so)";
  // mosquitto cuts the username at the first ':' and reads a line starting with '#' as a comment.
  if (c.username.includes(":")) return "the username contains ':', which mosquitto reads as the separator";
  if (c.username.startsWith("#")) return "the username starts with '#', which mosquitto reads as a comment";
  if (!canExportToMosquitto(c.passwordHash)) {
    return `its ${c.hashFormat} hash cannot be read by mosquitto 2.0 (only $6$ and $7$): set it again with mosquitto_passwd`;
  }
  return null;
}

/**
 * The clients a mosquitto broker could take over as they are, for users who leave. Hashes already
 * upgraded to argon2id cannot go back: mosquitto 2.0 reads only its own `$6$`/`$7$` formats.
 */
export async function exportMosquittoPasswd(store: Store): Promise<MosquittoExport> {
  const at = new Date();
  const lines: string[] = [];
  const skipped: MosquittoExport["skipped"] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.listClients({ limit: 1000, ...(after !== undefined && { after }) });
    for (const c of page) {
      const reason = reasonToSkip(c, at);
      if (reason === null) lines.push(`${c.username}:${c.passwordHash}`);
      else skipped.push({ username: c.username, reason });
    }
    after = page.at(-1)?.username;
    if (page.length < 1000) break;
  }
  return { text: lines.map((l) => `${l}\n`).join(""), exported: lines.length, skipped };
}
