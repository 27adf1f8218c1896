export type Permission = "allow" | "deny";
export type RuleAction = "publish" | "subscribe" | "all";
export type RequestAction = "publish" | "subscribe";
export type QoS = 0 | 1 | 2;

export interface Rule {
  permission: Permission;
  action: RuleAction;
  /**
   * A topic filter, optionally prefixed with "eq " for an exact string comparison.
   * Whole levels may be the placeholders ${username} or ${clientid}.
   */
  topic: string;
  /** QoS levels the rule applies to (a subset of 0, 1, 2); absent means any. */
  qos?: readonly number[];
  /** Retain flag of a PUBLISH the rule applies to; absent means either. Ignored for SUBSCRIBE. */
  retain?: boolean;
}

export interface ClientIdentity {
  username: string;
  clientid: string;
}

/**
 * One broker authorization question. `topic` is a valid topic name for publish and a valid
 * topic filter for subscribe: the HTTP layer validates it before asking.
 */
export interface AclRequest extends ClientIdentity {
  topic: string;
  action: RequestAction;
  qos: QoS;
  retain: boolean;
}

export interface Decision {
  result: Permission;
  rule: Rule | null;
  /** Position of the deciding rule; null when no rule matched and the default applied. */
  ruleIndex: number | null;
}
