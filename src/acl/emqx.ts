import { EXACT_PREFIX, resolveRuleTopic } from "./rule-topic.js";
import type { ClientIdentity, Permission, QoS, Rule, RuleAction } from "./types.js";

/** One entry of the `acl` array in an EMQX ≥ 5.8 authentication response. */
export interface EmqxAclRule {
  permission: Permission;
  action: RuleAction;
  topic: string;
  qos?: QoS[];
  retain?: boolean;
}

function isQoS(n: number): n is QoS {
  return n === 0 || n === 1 || n === 2;
}

/**
 * Renders rules for EMQX to enforce itself, with this client's placeholders expanded.
 *
 * A rule is dropped when it cannot match anything for this client: its topic does not
 * resolve (an unsafe ${username}/${clientid} value), or its QoS set has no valid level.
 * Dropping a deny rule looks like widening, but `evaluate` never matches such a rule
 * either, so both paths give the same answers. Dropping rather than emitting also matters
 * because EMQX refuses the whole login when one rule is invalid.
 */
export function toEmqxAcl(rules: readonly Rule[], ids: ClientIdentity): EmqxAclRule[] {
  const acl: EmqxAclRule[] = [];
  for (const rule of rules) {
    const topic = resolveRuleTopic(rule.topic, ids);
    if (topic === null) continue;
    const out: EmqxAclRule = {
      permission: rule.permission,
      action: rule.action,
      // Placeholders are already expanded, so EMQX has nothing left to render here.
      topic: topic.exact ? EXACT_PREFIX + topic.filter : topic.filter,
    };
    if (rule.qos !== undefined) {
      // Levels outside 0..2 never match a request, so leaving them out keeps the meaning.
      const qos = rule.qos.filter(isQoS);
      if (qos.length === 0) continue;
      out.qos = qos;
    }
    // EMQX ignores retain on subscribe rules; omitting it keeps the response honest.
    if (rule.retain !== undefined && rule.action !== "subscribe") out.retain = rule.retain;
    acl.push(out);
  }
  return acl;
}

/**
 * Would EMQX's own matcher read this rule differently from `evaluate`? EMQX compares topics level
 * by level with no `$` clause, so a rule whose first level is `+` or `#` also matches `$SYS/…`; and
 * it lets a rule's `+` match a requested `#` literally, so a subscribe rule with a `+` followed by
 * nothing or `#` (`a/+`, `a/+/#`) would allow subscribing to `a/#`.
 */
export function emqxReadsDifferently(rule: EmqxAclRule): boolean {
  if (rule.topic.startsWith(EXACT_PREFIX)) return false;
  const levels = rule.topic.split("/");
  if (levels[0] === "+" || levels[0] === "#") return true;
  if (rule.action === "publish") return false;
  return levels.some((level, i) => level === "+" && levels.slice(i + 1).every((rest) => rest === "#"));
}

/**
 * The part of a client's list EMQX can be trusted to decide exactly as /mqtt/acl would: everything
 * before the first rule it would read differently. Checks that fall past the cut come to /mqtt/acl,
 * which evaluates the whole list. `complete` is false when something was cut.
 */
export function emqxExactPrefix(acl: readonly EmqxAclRule[]): { acl: EmqxAclRule[]; complete: boolean } {
  const cut = acl.findIndex(emqxReadsDifferently);
  return cut === -1 ? { acl: [...acl], complete: true } : { acl: acl.slice(0, cut), complete: false };
}
