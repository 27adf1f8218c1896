import { detectFormat, inspectMosquittoHash } from "../../passwords/formats/index.js";
import {
  type CredentialRecord,
  keepLastPerUsername,
  type LineError,
  type ParsedCredentials,
  textLines,
} from "./lines.js";

// mosquitto keeps MQTT's string limit for both fields (security_default.c pwfile__parse).
const MAX_FIELD_LENGTH = 65_535;

function parseLine(raw: string, line: number): CredentialRecord | LineError {
  const colon = raw.indexOf(":");
  if (colon === -1) return { line, reason: "no ':' between username and hash (mosquitto ignores this line)" };
  const username = raw.slice(0, colon).trim();
  const hash = raw.slice(colon + 1).trim();
  if (username === "") return { line, reason: "empty username" };
  if (username.length > MAX_FIELD_LENGTH) return { line, reason: "username longer than 65535 characters" };
  if (hash === "") return { line, reason: "no hash after ':' (mosquitto drops users without a hash)" };
  if (hash.includes(":")) {
    return { line, reason: "a second ':' (no hash contains one; mosquitto ignores what follows it)" };
  }
  if (hash.startsWith("$argon2id$")) {
    // mosquitto's next release writes libargon2 encoded strings.
    return detectFormat(hash) === "argon2id"
      ? { line, username, hash }
      : { line, reason: "malformed $argon2id$ hash" };
  }
  const inspected = inspectMosquittoHash(hash);
  return inspected.ok ? { line, username, hash } : { line, reason: inspected.reason };
}

/**
 * Reads a mosquitto password file (`username:hash` per line) the way the broker does:
 * lines starting with '#' and blank lines are skipped, the username ends at the first ':',
 * both fields are trimmed, and the last line for a username wins. Lines the broker would
 * silently drop are reported here, with reasons that never quote the hash.
 */
export function parseMosquittoPasswd(text: string): ParsedCredentials<CredentialRecord> {
  const records: CredentialRecord[] = [];
  const errors: LineError[] = [];
  for (const [i, raw] of textLines(text).entries()) {
    if (raw.startsWith("#") || raw.trim() === "") continue;
    const result = parseLine(raw, i + 1);
    if ("reason" in result) errors.push(result);
    else records.push(result);
  }
  return keepLastPerUsername({ records, errors });
}
