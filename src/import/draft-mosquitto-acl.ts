import { type ImportDraft, sortByLine } from "./draft.js";
import type { LineError } from "./parse/index.js";
import { mosquittoAclToRules, parseMosquittoAcl } from "./parse/index.js";
import { textLines } from "./parse/lines.js";

/** The default role that carries an acl_file's `pattern` lines: every client, after its own rules. */
export const PATTERNS_ROLE = "mosquitto-patterns";

const isPatternLine = (raw: string | undefined) => raw !== undefined && /^\s*pattern\b/.test(raw);

/**
 * A mosquitto acl_file as client rules (`user` blocks) and one default role (`pattern` lines).
 * A rule list with a bad line is left out whole, even when the good lines are applied: without
 * one of its deny lines, the rest could allow what the file denied.
 */
export function draftFromMosquittoAcl(text: string, aclNoMatch: "allow" | "deny"): ImportDraft {
  const parsed = parseMosquittoAcl(text);
  const converted = mosquittoAclToRules(parsed.entries);
  const lines = textLines(text);
  const userEntries = parsed.entries.filter((e) => e.kind === "user");

  const lineOfUser = new Map<string, number>();
  for (const e of userEntries) if (!lineOfUser.has(e.username)) lineOfUser.set(e.username, e.line);
  // The user whose block holds a line: a failed `user` line leaves its topics under the previous one.
  const ownerOf = (line: number) => userEntries.findLast((e) => e.line < line)?.username ?? null;

  const failed: LineError[] = [...parsed.errors, ...converted.errors];
  const taintedUsers = new Map<string, number>();
  let taintedPatterns: number | null = null;
  for (const { line } of failed) {
    if (isPatternLine(lines[line - 1])) {
      taintedPatterns ??= line;
      continue;
    }
    const owner = ownerOf(line);
    if (owner !== null && !taintedUsers.has(owner)) taintedUsers.set(owner, line);
  }
  for (const [username, badLine] of taintedUsers) {
    failed.push({
      line: lineOfUser.get(username) ?? 0,
      reason: `the rules of user "${username}" are left out: line ${badLine} failed, and the rest alone could allow what the file denies`,
    });
  }

  const clientRules = new Map([...converted.perUser].filter(([username]) => !taintedUsers.has(username)));
  const notes = [...converted.notes];
  const roles =
    converted.patterns.length === 0 || taintedPatterns !== null
      ? []
      : [
          {
            name: PATTERNS_ROLE,
            description: "pattern lines of a mosquitto acl_file: apply to every client after its own rules",
            isDefault: true,
            rules: converted.patterns,
          },
        ];
  if (taintedPatterns !== null) {
    notes.push(`The pattern lines are left out: line ${taintedPatterns} failed.`);
  }
  if (converted.anonymous.length > 0) {
    notes.push(
      `${converted.anonymous.length} topic line(s) before the first user line apply to clients without a ` +
        "username in mosquitto; mqtt-authd has no anonymous clients, so they are not imported.",
    );
  }
  if (aclNoMatch === "allow") {
    notes.push(
      "MQTT_AUTHD_ACL_NO_MATCH is allow: a topic no rule matches is allowed, where mosquitto denied it. " +
        "Set it to deny to keep mosquitto's behaviour.",
    );
  }
  return { clients: [], clearText: [], clientRules, roles, failed: sortByLine(failed), notes, lineOfUser };
}
