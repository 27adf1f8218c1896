import type {
  ImportedClient,
  ImportOutcome,
  ImportPlan,
  ImportStore,
  RoleInput,
  Rule,
} from "../store/types.js";
import type { Audited } from "./audit.js";
import type { Db } from "./open.js";
import {
  type ImportVerdict,
  importRollsBack,
  importTally,
  RollBack,
  type RuleRow,
  ruleToRow,
  sameRules,
} from "./rows.js";

type Verdict = ImportVerdict;

export function createSqliteImportStore(db: Db, now: () => string, audited: Audited): ImportStore {
  const RULE_COLUMNS = "permission, action, topic, qos, retain";
  const stmt = {
    client: db.prepare<[string], { password_hash: string; is_superuser: number }>(
      "SELECT password_hash, is_superuser FROM mqtt_clients WHERE username = ?",
    ),
    insertClient: db.prepare(
      `INSERT INTO mqtt_clients (username, password_hash, hash_format, password_origin, is_superuser,
         created_at, updated_at, password_changed_at)
       VALUES (@username, @hash, @format, @origin, @isSuperuser, @now, @now, @now)`,
    ),
    // The right-hand sides read the row as it was, so password_changed_at moves only with the hash.
    overwriteClient: db.prepare(
      `UPDATE mqtt_clients SET password_hash = @hash, hash_format = @format, password_origin = @origin,
         is_superuser = coalesce(@isSuperuser, is_superuser), updated_at = @now,
         password_changed_at = CASE WHEN password_hash = @hash THEN password_changed_at ELSE @now END
       WHERE username = @username`,
    ),
    clientRules: db.prepare<[string], RuleRow>(
      `SELECT ${RULE_COLUMNS} FROM acl_rules WHERE client_username = ? ORDER BY position`,
    ),
    deleteClientRules: db.prepare("DELETE FROM acl_rules WHERE client_username = ?"),
    insertClientRule: db.prepare(
      `INSERT INTO acl_rules (client_username, position, ${RULE_COLUMNS})
       VALUES (@owner, @position, @permission, @action, @topic, @qos, @retain)`,
    ),
    touchClient: db.prepare("UPDATE mqtt_clients SET updated_at = ? WHERE username = ?"),
    role: db.prepare<[string], { description: string; is_default: number }>(
      "SELECT description, is_default FROM acl_roles WHERE name = ?",
    ),
    roleRules: db.prepare<[string], RuleRow>(
      `SELECT ${RULE_COLUMNS} FROM acl_rules WHERE role_name = ? ORDER BY position`,
    ),
    insertRole: db.prepare(
      `INSERT INTO acl_roles (name, description, is_default, created_at, updated_at)
       VALUES (@name, @description, @isDefault, @now, @now)`,
    ),
    updateRole: db.prepare(
      "UPDATE acl_roles SET description = @description, is_default = @isDefault, updated_at = @now WHERE name = @name",
    ),
    deleteRoleRules: db.prepare("DELETE FROM acl_rules WHERE role_name = ?"),
    insertRoleRule: db.prepare(
      `INSERT INTO acl_rules (role_name, position, ${RULE_COLUMNS})
       VALUES (@owner, @position, @permission, @action, @topic, @qos, @retain)`,
    ),
  };

  const superuserParam = (c: ImportedClient) => (c.isSuperuser === undefined ? null : c.isSuperuser ? 1 : 0);

  const importClient = (c: ImportedClient, conflict: ImportPlan["conflict"], at: string): Verdict => {
    const params = {
      username: c.username,
      hash: c.password.hash,
      format: c.password.format,
      origin: c.password.origin,
      isSuperuser: superuserParam(c),
      now: at,
    };
    const existing = stmt.client.get(c.username);
    if (existing === undefined) {
      stmt.insertClient.run({ ...params, isSuperuser: params.isSuperuser ?? 0 });
      return "created";
    }
    const same =
      existing.password_hash === c.password.hash &&
      (params.isSuperuser === null || params.isSuperuser === existing.is_superuser);
    if (same) return "unchanged";
    if (conflict === "skip") return "skipped";
    stmt.overwriteClient.run(params);
    return "updated";
  };

  const writeRules = (insert: typeof stmt.insertRoleRule, owner: string, rules: readonly Rule[]) => {
    for (const [i, rule] of rules.entries()) insert.run({ owner, position: i + 1, ...ruleToRow(rule) });
  };

  const importClientRules = (
    username: string,
    rules: readonly Rule[],
    conflict: ImportPlan["conflict"],
    at: string,
  ): Verdict | "missing" => {
    if (stmt.client.get(username) === undefined) return "missing";
    const current = stmt.clientRules.all(username);
    if (sameRules(current, rules)) return "unchanged";
    if (current.length > 0 && conflict === "skip") return "skipped";
    stmt.deleteClientRules.run(username);
    writeRules(stmt.insertClientRule, username, rules);
    stmt.touchClient.run(at, username);
    return current.length === 0 ? "created" : "updated";
  };

  const importRole = (role: RoleInput, conflict: ImportPlan["conflict"], at: string): Verdict => {
    const params = {
      name: role.name,
      description: role.description,
      isDefault: role.isDefault ? 1 : 0,
      now: at,
    };
    const existing = stmt.role.get(role.name);
    if (existing === undefined) {
      stmt.insertRole.run(params);
      writeRules(stmt.insertRoleRule, role.name, role.rules);
      return "created";
    }
    const same =
      existing.description === role.description &&
      existing.is_default === params.isDefault &&
      sameRules(stmt.roleRules.all(role.name), role.rules);
    if (same) return "unchanged";
    if (conflict === "skip") return "skipped";
    stmt.updateRole.run(params);
    stmt.deleteRoleRules.run(role.name);
    writeRules(stmt.insertRoleRule, role.name, role.rules);
    return "updated";
  };

  const apply = (plan: ImportPlan): ImportOutcome => {
    const at = now();
    const { outcome, record } = importTally();
    for (const client of plan.clients) record(client.username, importClient(client, plan.conflict, at));
    for (const role of plan.roles ?? []) record(`role:${role.name}`, importRole(role, plan.conflict, at));
    for (const [username, rules] of plan.clientRules ?? []) {
      record(username, importClientRules(username, rules, plan.conflict, at));
    }
    return outcome;
  };

  return {
    async applyImport(plan, audit) {
      try {
        return db
          .transaction(() => {
            const outcome = apply(plan);
            if (importRollsBack(plan, outcome)) throw new RollBack(outcome);
            const written = { ...outcome, written: true };
            // One audit row for the whole file; nested, so it joins this transaction as a savepoint.
            const changed = written.created.length + written.updated.length > 0;
            if (changed)
              audited(
                audit(written),
                () => true,
                () => true,
              );
            return written;
          })
          .immediate();
      } catch (err) {
        if (err instanceof RollBack) return err.outcome;
        throw err;
      }
    },
  };
}
