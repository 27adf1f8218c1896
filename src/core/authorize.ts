import { evaluate, type ResolvedRule, resolveRules } from "../acl/evaluate.js";
import { validateTopicFilter, validateTopicName } from "../acl/topic.js";
import type { AclRequest } from "../acl/types.js";
import type { SourcedRule, Store } from "../store/types.js";
import { isExpired } from "./authenticate.js";

export type AuthzReason =
  | "superuser"
  | "rule"
  | "no_match"
  | "unknown_user"
  | "disabled"
  | "expired"
  | "client_id_mismatch"
  | "invalid_topic";

export interface AuthzDecision {
  readonly result: "allow" | "deny" | "ignore";
  readonly reason: AuthzReason;
  /** The rule that decided, with its source and position in the client's evaluation order. */
  readonly rule?: SourcedRule;
  readonly ruleIndex?: number;
}

export type Authorize = (req: AclRequest) => Promise<AuthzDecision>;

export function createAuthorizer(deps: {
  readonly store: Pick<Store, "findClientWithRules">;
  readonly unknownUser: "deny" | "ignore";
  readonly noMatch: "allow" | "deny";
  readonly now?: () => Date;
}): Authorize {
  const now = deps.now ?? (() => new Date());
  // Rule topics resolved for the client that asked last, per rules list. The store hands out the
  // same list while the client's rules are unchanged (and a new one after any change), so the list
  // itself is the key: nothing to invalidate, and an entry goes when the store drops the list.
  const resolvedFor = new WeakMap<
    readonly SourcedRule[],
    { readonly username: string; readonly clientid: string; readonly resolved: ResolvedRule[] }
  >();
  const resolve = (rules: readonly SourcedRule[], req: AclRequest): ResolvedRule[] => {
    const hit = resolvedFor.get(rules);
    if (hit !== undefined && hit.username === req.username && hit.clientid === req.clientid) {
      return hit.resolved;
    }
    const resolved = resolveRules(rules, req);
    resolvedFor.set(rules, { username: req.username, clientid: req.clientid, resolved });
    return resolved;
  };
  return async (req) => {
    const valid = req.action === "publish" ? validateTopicName(req.topic) : validateTopicFilter(req.topic);
    if (!valid.ok) return { result: "deny", reason: "invalid_topic" };
    const found = await deps.store.findClientWithRules(req.username);
    if (found === null) return { result: deps.unknownUser, reason: "unknown_user" };
    const { client, rules } = found;
    // The broker should have refused these at CONNECT; a session that outlived a disable or an
    // expiry gets nothing more.
    if (!client.isEnabled) return { result: "deny", reason: "disabled" };
    if (isExpired(client, now())) return { result: "deny", reason: "expired" };
    if (client.boundClientId !== null && client.boundClientId !== req.clientid) {
      return { result: "deny", reason: "client_id_mismatch" };
    }
    if (client.isSuperuser) return { result: "allow", reason: "superuser" };
    const decision = evaluate(rules, req, deps.noMatch, resolve(rules, req));
    if (decision.ruleIndex === null) return { result: decision.result, reason: "no_match" };
    return {
      result: decision.result,
      reason: "rule",
      rule: rules[decision.ruleIndex]!,
      ruleIndex: decision.ruleIndex,
    };
  };
}
