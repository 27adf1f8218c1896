import { filterCovers, topicMatches } from "./match.js";
import { resolveRuleTopic } from "./rule-topic.js";
import type { AclRequest, Decision, Permission, Rule } from "./types.js";

export function ruleMatches(rule: Rule, req: AclRequest): boolean {
  if (rule.action !== "all" && rule.action !== req.action) return false;
  if (rule.qos !== undefined && !rule.qos.includes(req.qos)) return false;
  // Subscriptions have no retain flag of their own, as in EMQX.
  if (req.action === "publish" && rule.retain !== undefined && rule.retain !== req.retain) return false;
  const topic = resolveRuleTopic(rule.topic, req);
  if (topic === null) return false;
  if (topic.exact) return topic.filter === req.topic;
  return req.action === "publish"
    ? topicMatches(topic.filter, req.topic)
    : filterCovers(topic.filter, req.topic);
}

/** The first matching rule decides, as in EMQX and mosquitto; otherwise `defaultResult`. */
export function evaluate(rules: readonly Rule[], req: AclRequest, defaultResult: Permission): Decision {
  for (const [ruleIndex, rule] of rules.entries()) {
    if (ruleMatches(rule, req)) return { result: rule.permission, rule, ruleIndex };
  }
  return { result: defaultResult, rule: null, ruleIndex: null };
}
