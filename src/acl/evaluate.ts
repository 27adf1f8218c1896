import { filterCovers, topicMatches } from "./match.js";
import { type ResolvedRuleTopic, resolveRuleTopic } from "./rule-topic.js";
import type { AclRequest, ClientIdentity, Decision, Permission, Rule } from "./types.js";

/** A rule's topic as it applies to one client, worked out ahead of the requests (`resolveRules`). */
export interface ResolvedRule {
  /** `resolveRuleTopic(rule.topic, client)`: null when the rule does not apply to this client. */
  readonly topic: ResolvedRuleTopic | null;
  /** A filter without wildcards matches, and covers, exactly the one topic that equals it. */
  readonly literal: boolean;
}

/** The topics of `rules` for one client, in order: what `evaluate` would resolve on every request. */
export function resolveRules(rules: readonly Rule[], ids: ClientIdentity): ResolvedRule[] {
  return rules.map((rule) => {
    const topic = resolveRuleTopic(rule.topic, ids);
    return { topic, literal: topic !== null && !topic.filter.includes("+") && !topic.filter.includes("#") };
  });
}

/** `resolved`, when given, must be this rule's entry of `resolveRules(rules, req)`. */
export function ruleMatches(rule: Rule, req: AclRequest, resolved?: ResolvedRule): boolean {
  if (rule.action !== "all" && rule.action !== req.action) return false;
  if (rule.qos !== undefined && !rule.qos.includes(req.qos)) return false;
  // Subscriptions have no retain flag of their own, as in EMQX.
  if (req.action === "publish" && rule.retain !== undefined && rule.retain !== req.retain) return false;
  const topic = resolved === undefined ? resolveRuleTopic(rule.topic, req) : resolved.topic;
  if (topic === null) return false;
  if (topic.exact || resolved?.literal === true) return topic.filter === req.topic;
  return req.action === "publish"
    ? topicMatches(topic.filter, req.topic)
    : filterCovers(topic.filter, req.topic);
}

/** The first matching rule decides, as in EMQX and mosquitto; otherwise `defaultResult`. */
export function evaluate(
  rules: readonly Rule[],
  req: AclRequest,
  defaultResult: Permission,
  /** `resolveRules(rules, req)`, when the caller keeps it between requests of one client. */
  resolved?: readonly ResolvedRule[],
): Decision {
  for (let ruleIndex = 0; ruleIndex < rules.length; ruleIndex++) {
    const rule = rules[ruleIndex]!;
    if (ruleMatches(rule, req, resolved?.[ruleIndex])) return { result: rule.permission, rule, ruleIndex };
  }
  return { result: defaultResult, rule: null, ruleIndex: null };
}
