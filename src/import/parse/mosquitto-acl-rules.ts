import { EXACT_PREFIX, validateRuleTopic } from "../../acl/rule-topic.js";
import type { Rule } from "../../acl/types.js";
import type { Inspection } from "../../passwords/formats/index.js";
import type { LineError } from "./lines.js";
import type { MosquittoAccess, MosquittoAclEntry } from "./mosquitto-acl.js";

/**
 * How a mosquitto acl_file maps onto our rules, and what it cannot carry over:
 * - mosquitto checks a client's own list, then the pattern list, each with its deny entries
 *   moved to the front, and the first entry that matches the topic and shares an access bit
 *   decides; nothing matching means deny. So each list here is denies-then-grants, and a
 *   client must be given its own rules before `patterns`, with a no-match default of deny.
 * - `topic` lines before the first `user` are for clients without a username only; users
 *   without a `user` block get just the patterns. Repeated `user` blocks add up.
 * - read becomes subscribe and write publish. Mosquitto 2.0 does not check SUBSCRIBE
 *   against acl_file at all: it filters each delivered message by read access instead.
 * - Pattern `%u`/`%c` become `${username}`/`${clientid}`, which must be whole levels;
 *   mosquitto also substitutes inside a level (`a/%u-x`), so such lines are refused.
 */
export interface MosquittoRules {
  perUser: Map<string, Rule[]>;
  /** For a role every client gets, evaluated after the client's own rules. */
  patterns: Rule[];
  /** For clients that connect without a username. */
  anonymous: Rule[];
  notes: string[];
  errors: LineError[];
}

const ACTIONS: Record<Exclude<MosquittoAccess, "deny">, Rule["action"]> = {
  read: "subscribe",
  write: "publish",
  readwrite: "all",
};
// biome-ignore lint/suspicious/noTemplateCurlyInString: ${username} and ${clientid} are our placeholder syntax.
const PLACEHOLDERS: Record<string, string> = { "%u": "${username}", "%c": "${clientid}" };

function toRule(access: MosquittoAccess, topic: string): Rule {
  return access === "deny"
    ? { permission: "deny", action: "all", topic }
    : { permission: "allow", action: ACTIONS[access], topic };
}

function substitutePlaceholders(topic: string): Inspection<string> {
  const levels: string[] = [];
  for (const level of topic.split("/")) {
    const placeholder = Object.hasOwn(PLACEHOLDERS, level) ? PLACEHOLDERS[level] : undefined;
    if (placeholder !== undefined) {
      levels.push(placeholder);
    } else if (/%[uc]/.test(level)) {
      return { ok: false, reason: "%u and %c can only be converted when they fill a whole topic level" };
    } else {
      levels.push(level);
    }
  }
  return { ok: true, value: levels.join("/") };
}

function convertTopic(entry: MosquittoAclEntry & { kind: "topic" | "pattern" }): Inspection<string> {
  if (entry.topic.includes("${")) {
    return { ok: false, reason: "the topic contains '${', which our rules read as a placeholder" };
  }
  const converted =
    entry.kind === "pattern"
      ? substitutePlaceholders(entry.topic)
      : { ok: true as const, value: entry.topic };
  if (!converted.ok) return converted;
  let topic = converted.value;
  if (topic.startsWith(EXACT_PREFIX)) {
    // Our rules read a leading "eq " as "match exactly"; without wildcards, exact matching of
    // the whole string is what mosquitto did, so the literal survives behind a second prefix.
    if (/[+#]/.test(topic)) {
      return { ok: false, reason: "a topic starting with 'eq ' and holding wildcards cannot be expressed" };
    }
    topic = `${EXACT_PREFIX}${topic}`;
  }
  const valid = validateRuleTopic(topic);
  return valid.ok ? { ok: true, value: topic } : { ok: false, reason: valid.reason };
}

function denyFirst(rules: Rule[]): Rule[] {
  return [...rules.filter((r) => r.permission === "deny"), ...rules.filter((r) => r.permission === "allow")];
}

function describeLimits(result: MosquittoRules, literalPlaceholderLines: number[]): string[] {
  const notes = ["Give each client its own rules before the pattern rules, and deny when no rule matches."];
  const all = [...result.anonymous, ...result.patterns, ...[...result.perUser.values()].flat()];
  if (all.some((r) => r.action === "subscribe" || r.action === "all")) {
    notes.push(
      "read access became subscribe permission: mosquitto 2.0 let any SUBSCRIBE through and filtered " +
        "delivered messages by read access, so clients subscribing to wider filters (such as '#') are now refused.",
    );
  }
  if (all.some((r) => r.permission === "deny")) {
    notes.push(
      "A deny only refuses subscriptions within its topic: a client allowed 'a/#' may still subscribe to " +
        "'a/#' and then receive messages on a denied 'a/b', which mosquitto withheld at delivery.",
    );
  }
  if (result.patterns.length > 0) {
    notes.push(
      "Pattern placeholders only stand for a single level: a username or client ID containing '/', '+', " +
        "'#' or ${ (or starting with '$' in the first level) makes the rule not apply; mosquitto only refused '+' and '#'.",
    );
  }
  if (literalPlaceholderLines.length > 0) {
    notes.push(
      `Lines ${literalPlaceholderLines.join(", ")}: %u/%c in a topic line is literal in mosquitto ` +
        "(only pattern lines substitute) and was kept literal.",
    );
  }
  return notes;
}

/** Converts parsed acl_file entries into our rules, keeping mosquitto's evaluation order. */
export function mosquittoAclToRules(entries: readonly MosquittoAclEntry[]): MosquittoRules {
  const perUser = new Map<string, Rule[]>();
  const anonymous: Rule[] = [];
  const patterns: Rule[] = [];
  const errors: LineError[] = [];
  const literalPlaceholderLines: number[] = [];
  let user: string | null = null;
  for (const entry of entries) {
    if (entry.kind === "user") {
      user = entry.username;
      continue;
    }
    const topic = convertTopic(entry);
    if (!topic.ok) {
      errors.push({ line: entry.line, reason: topic.reason });
      continue;
    }
    if (entry.kind === "topic" && /%[uc]/.test(entry.topic)) literalPlaceholderLines.push(entry.line);
    const rule = toRule(entry.access, topic.value);
    if (entry.kind === "pattern") patterns.push(rule);
    else if (user === null) anonymous.push(rule);
    else {
      const own = perUser.get(user) ?? [];
      own.push(rule);
      perUser.set(user, own);
    }
  }
  const result: MosquittoRules = {
    perUser: new Map([...perUser].map(([name, rules]) => [name, denyFirst(rules)])),
    patterns: denyFirst(patterns),
    anonymous: denyFirst(anonymous),
    notes: [],
    errors,
  };
  result.notes = describeLimits(result, literalPlaceholderLines);
  return result;
}
