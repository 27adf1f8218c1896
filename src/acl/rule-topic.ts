import { expandPlaceholders, isPlaceholder } from "./placeholders.js";
import { type TopicValidation, validateTopicFilter } from "./topic.js";
import type { ClientIdentity } from "./types.js";

// EMQX's syntax for "compare the topic as a string, wildcards included".
export const EXACT_PREFIX = "eq ";

export interface ResolvedRuleTopic {
  exact: boolean;
  filter: string;
}

function splitRuleTopic(ruleTopic: string): { exact: boolean; pattern: string } {
  return ruleTopic.startsWith(EXACT_PREFIX)
    ? { exact: true, pattern: ruleTopic.slice(EXACT_PREFIX.length) }
    : { exact: false, pattern: ruleTopic };
}

function placeholderError(level: string): string | null {
  for (const [found] of level.matchAll(/\$\{[^}]*\}?/g)) {
    if (!isPlaceholder(found)) {
      return `unknown placeholder '${found}': only \${username} and \${clientid} are supported`;
    }
    // A whole level keeps one client's level from being another's: with "dev-${clientid}",
    // client "1" would own the level that "${clientid}" gives to client "dev-1".
    if (level !== found) return `placeholder ${found} must occupy a whole topic level`;
  }
  return null;
}

/** For the provisioning API: is this acceptable as `Rule.topic`? */
export function validateRuleTopic(ruleTopic: string): TopicValidation {
  const { pattern } = splitRuleTopic(ruleTopic);
  const levels = pattern.split("/");
  for (const level of levels) {
    const reason = placeholderError(level);
    if (reason !== null) return { ok: false, reason };
  }
  // "x" stands for the shortest value a placeholder can take, so a topic too long here is
  // too long for every client; longer values are caught per client by resolveRuleTopic.
  return validateTopicFilter(levels.map((level) => (isPlaceholder(level) ? "x" : level)).join("/"));
}

/**
 * The rule topic as it applies to one client, or null when it does not apply to them.
 * Rules stored before validation existed, or values that make the topic invalid (too long,
 * a lone surrogate), also give null, so evaluation and the EMQX rendering agree on them.
 */
export function resolveRuleTopic(ruleTopic: string, ids: ClientIdentity): ResolvedRuleTopic | null {
  const { exact, pattern } = splitRuleTopic(ruleTopic);
  const filter = expandPlaceholders(pattern, ids);
  if (filter === null || !validateTopicFilter(filter).ok) return null;
  return { exact, filter };
}
