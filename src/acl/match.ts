// Both functions take already validated topics: validateTopicName / validateTopicFilter.

function isWildcard(level: string | undefined): boolean {
  return level === "+" || level === "#";
}

/**
 * MQTT §4.7 matching of a topic name against a filter. "#" also matches the parent level
 * ("sport/#" matches "sport"), and a filter starting with a wildcard never matches a name
 * starting with "$" (§4.7.2), so "#" does not reach $SYS.
 */
export function topicMatches(filter: string, topicName: string): boolean {
  const f = filter.split("/");
  const n = topicName.split("/");
  if (topicName.startsWith("$") && isWildcard(f[0])) return false;
  for (const [i, level] of f.entries()) {
    if (level === "#") return true;
    const name = n[i];
    if (name === undefined) return false;
    if (level !== "+" && level !== name) return false;
  }
  return f.length === n.length;
}

// "#" matches its parent level too, except where the parent is the empty string, which is
// not a topic name: there "#" only matches one or more levels, like "+/#".
const EMPTY_PARENT = new Map([
  ["#", "+/#"],
  ["/#", "/+/#"],
]);

/**
 * True iff every topic name matched by `requestedFilter` is also matched by `ruleFilter`,
 * so granting a SUBSCRIBE on it cannot deliver anything the rule does not cover.
 *
 * The "$" rule works both ways: a requested filter whose first level is a literal starting
 * with "$" is not covered by a rule starting with a wildcard ("#" does not cover "$SYS/#"),
 * while a requested filter starting with a wildcard matches no "$" topic, so "#" covers "+/x".
 */
export function filterCovers(ruleFilter: string, requestedFilter: string): boolean {
  const r = ruleFilter.split("/");
  const q = (EMPTY_PARENT.get(requestedFilter) ?? requestedFilter).split("/");
  if (requestedFilter.startsWith("$") && isWildcard(r[0])) return false;
  for (const [i, level] of r.entries()) {
    if (level === "#") return true;
    const requested = q[i];
    // A requested "#" also matches the parent and deeper levels; only a rule "#" covers that.
    if (requested === undefined || requested === "#") return false;
    if (level !== "+" && level !== requested) return false;
  }
  return r.length === q.length;
}
