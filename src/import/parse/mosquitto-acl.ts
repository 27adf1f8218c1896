import { validateTopicFilter } from "../../acl/topic.js";
import { type LineError, textLines } from "./lines.js";

export type MosquittoAccess = "read" | "write" | "readwrite" | "deny";

export type MosquittoAclEntry =
  | { line: number; kind: "user"; username: string }
  | { line: number; kind: "topic" | "pattern"; access: MosquittoAccess; topic: string };

export interface ParsedMosquittoAcl {
  entries: MosquittoAclEntry[];
  errors: LineError[];
}

const ACCESS: readonly string[] = ["read", "write", "readwrite", "deny"];

/** Like strtok(s, " "): the token before the next space, and what follows that space. */
function nextToken(s: string): { token: string; rest: string | null } {
  const start = s.search(/[^ ]/);
  if (start === -1) return { token: "", rest: null };
  const end = s.indexOf(" ", start);
  return end === -1
    ? { token: s.slice(start), rest: null }
    : { token: s.slice(start, end), rest: s.slice(end + 1) };
}

function parseRule(
  kind: "topic" | "pattern",
  rest: string | null,
  line: number,
): MosquittoAclEntry | LineError {
  const first = nextToken(rest ?? "");
  if (first.token === "") return { line, reason: `${kind} line without a topic` };
  // One word is the topic; with more, the first word is the access and the rest (spaces
  // included) the topic, which is why a topic with spaces needs an explicit access.
  const remainder = first.rest?.trim() ?? "";
  const [access, topic] = remainder === "" ? ["readwrite", first.token] : [first.token, remainder];
  if (!ACCESS.includes(access)) {
    return { line, reason: `unknown access "${access}": use read, write, readwrite or deny` };
  }
  const valid = validateTopicFilter(topic);
  if (!valid.ok) return { line, reason: `invalid topic: ${valid.reason}` };
  return { line, kind, access: access as MosquittoAccess, topic };
}

function parseLine(raw: string, line: number): MosquittoAclEntry | LineError | null {
  const text = raw.trimEnd();
  if (text.startsWith("#")) return null;
  const { token, rest } = nextToken(text);
  if (token === "") return null;
  if (token === "topic" || token === "pattern") return parseRule(token, rest, line);
  if (token === "user") {
    const username = rest?.trim() ?? "";
    return username === ""
      ? { line, reason: "user line without a username" }
      : { line, kind: "user", username };
  }
  if (token.startsWith("#")) return { line, reason: "a comment must start in the first column" };
  if (/\t/.test(token)) {
    return { line, reason: "fields must be separated by spaces (mosquitto does not split on tabs)" };
  }
  return { line, reason: "unknown line type: expected user, topic or pattern" };
}

/**
 * Reads a mosquitto acl_file (mosquitto.conf(5); parsed as security_default.c aclfile__parse
 * does) into its entries, in file order. Where mosquitto refuses to start on the first bad
 * line, every bad line is reported here and the rest still parsed.
 */
export function parseMosquittoAcl(text: string): ParsedMosquittoAcl {
  const entries: MosquittoAclEntry[] = [];
  const errors: LineError[] = [];
  for (const [i, raw] of textLines(text).entries()) {
    const result = parseLine(raw, i + 1);
    if (result === null) continue;
    if ("reason" in result) errors.push(result);
    else entries.push(result);
  }
  return { entries, errors };
}
