import type { Rule } from "../acl/types.js";
import type { ClientPatch, ImportOutcome, ImportPlan } from "../store/types.js";

/**
 * Pure mappings between the store's records and table columns that both dialects share. SQLite
 * holds a flag as 0/1, PostgreSQL as a boolean; everything else is the same column for column.
 */

/** A rule as its acl_rules columns hold it: `Flag` is number (SQLite 0/1) or boolean (PostgreSQL). */
export interface RuleRow<Flag extends number | boolean = number> {
  permission: Rule["permission"];
  action: Rule["action"];
  topic: string;
  qos: string | null;
  retain: Flag | null;
}

export function rowToRule(r: RuleRow<number | boolean>): Rule {
  return {
    permission: r.permission,
    action: r.action,
    topic: r.topic,
    ...(r.qos !== null && { qos: r.qos.split(",").map(Number) }),
    ...(r.retain !== null && { retain: r.retain === 1 || r.retain === true }),
  };
}

/** The inverse of rowToRule: QoS levels as a sorted list ('0,1'), retain as 0/1, absent as NULL. */
export const ruleToRow = (rule: Rule): RuleRow => ({
  permission: rule.permission,
  action: rule.action,
  topic: rule.topic,
  qos: rule.qos === undefined ? null : [...new Set(rule.qos)].sort().join(","),
  retain: rule.retain === undefined ? null : rule.retain ? 1 : 0,
});

/** ruleToRow with retain as a boolean (PostgreSQL). */
export const ruleToPgRow = (rule: Rule): RuleRow<boolean> => {
  const row = ruleToRow(rule);
  return { ...row, retain: row.retain === null ? null : row.retain === 1 };
};

/** Compared as acl_rules columns, so a file's rules equal the stored ones they would become. */
export const sameRules = (stored: readonly RuleRow<number | boolean>[], wanted: readonly Rule[]): boolean =>
  JSON.stringify(stored.map((r) => ruleToRow(rowToRule(r)))) === JSON.stringify(wanted.map(ruleToRow));

/** The column each patchable client field is stored in (the same name in both dialects). */
export const PATCH_COLUMNS = {
  boundClientId: "bound_client_id",
  isSuperuser: "is_superuser",
  isEnabled: "is_enabled",
  expiresAt: "expires_at",
  description: "description",
} as const satisfies Record<keyof ClientPatch, string>;

/** Imports: thrown inside the transaction to roll it back, carrying the outcome out. */
export class RollBack {
  constructor(readonly outcome: ImportOutcome) {}
}

/** Imports: what happened to one client, client rule list or role. */
export type ImportVerdict = "created" | "updated" | "unchanged" | "skipped";

/** Imports: the outcome being tallied, and how each name's verdict lands in it. */
export function importTally() {
  const outcome = {
    created: [] as string[],
    updated: [] as string[],
    unchanged: [] as string[],
    skipped: [] as string[],
    missingClients: [] as string[],
    written: false,
  };
  const record = (name: string, verdict: ImportVerdict | "missing") =>
    (verdict === "missing" ? outcome.missingClients : outcome[verdict]).push(name);
  return { outcome, record };
}

/** Imports: a dry run, or a rule list for a missing client under `missingClient: "fail"`, rolls back. */
export const importRollsBack = (plan: ImportPlan, outcome: ImportOutcome): boolean =>
  plan.dryRun || (plan.missingClient === "fail" && outcome.missingClients.length > 0);
