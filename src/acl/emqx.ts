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
