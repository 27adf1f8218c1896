import type pg from "pg";
import type {
  ImportedClient,
  ImportOutcome,
  ImportPlan,
  ImportStore,
  RoleInput,
  Rule,
} from "../../store/types.js";
import {
  type ImportVerdict,
  importRollsBack,
  importTally,
  RollBack,
  type RuleRow,
  sameRules,
} from "../rows.js";
import { RULE_COLUMNS, writeRules } from "./acl.js";
import { insertAudit, withTransaction } from "./transaction.js";

type Verdict = ImportVerdict;

/** Transaction-level advisory lock: imports from several replicas run one after the other. */
const IMPORT_LOCK_KEY = "5571305976116375668"; // "MQADimpt" as a signed 64-bit key

/** Same semantics as createSqliteImportStore: one transaction, one audit row when anything changed. */
export function createPostgresImportStore(pool: pg.Pool, now: () => string): ImportStore {
  const importClient = async (
    db: pg.ClientBase,
    c: ImportedClient,
    conflict: ImportPlan["conflict"],
    at: string,
  ): Promise<Verdict> => {
    const superuser = c.isSuperuser ?? null;
    const { rows } = await db.query<{ password_hash: string; is_superuser: boolean }>(
      "SELECT password_hash, is_superuser FROM mqtt_clients WHERE username = $1 FOR UPDATE",
      [c.username],
    );
    const existing = rows[0];
    if (existing === undefined) {
      await db.query(
        `INSERT INTO mqtt_clients (username, password_hash, hash_format, password_origin, is_superuser,
           created_at, updated_at, password_changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $6)`,
        [c.username, c.password.hash, c.password.format, c.password.origin, superuser ?? false, at],
      );
      return "created";
    }
    const same =
      existing.password_hash === c.password.hash &&
      (superuser === null || superuser === existing.is_superuser);
    if (same) return "unchanged";
    if (conflict === "skip") return "skipped";
    // The right-hand sides read the row as it was, so password_changed_at moves only with the hash.
    await db.query(
      `UPDATE mqtt_clients SET password_hash = $2, hash_format = $3, password_origin = $4,
         is_superuser = coalesce($5, is_superuser), updated_at = $6,
         password_changed_at = CASE WHEN password_hash = $2 THEN password_changed_at ELSE $6 END
       WHERE username = $1`,
      [c.username, c.password.hash, c.password.format, c.password.origin, superuser, at],
    );
    return "updated";
  };

  const importClientRules = async (
    db: pg.ClientBase,
    username: string,
    rules: readonly Rule[],
    conflict: ImportPlan["conflict"],
    at: string,
  ): Promise<Verdict | "missing"> => {
    const found = await db.query("SELECT 1 FROM mqtt_clients WHERE username = $1 FOR UPDATE", [username]);
    if (found.rowCount === 0) return "missing";
    const current = await db.query<RuleRow<boolean>>(
      `SELECT ${RULE_COLUMNS} FROM acl_rules WHERE client_username = $1 ORDER BY position`,
      [username],
    );
    if (sameRules(current.rows, rules)) return "unchanged";
    if (current.rows.length > 0 && conflict === "skip") return "skipped";
    await writeRules(db, "client_username", username, rules);
    await db.query("UPDATE mqtt_clients SET updated_at = $1 WHERE username = $2", [at, username]);
    return current.rows.length === 0 ? "created" : "updated";
  };

  const importRole = async (
    db: pg.ClientBase,
    role: RoleInput,
    conflict: ImportPlan["conflict"],
    at: string,
  ): Promise<Verdict> => {
    const params = [role.name, role.description, role.isDefault, at];
    const { rows } = await db.query<{ description: string; is_default: boolean }>(
      "SELECT description, is_default FROM acl_roles WHERE name = $1 FOR UPDATE",
      [role.name],
    );
    const existing = rows[0];
    if (existing === undefined) {
      await db.query(
        `INSERT INTO acl_roles (name, description, is_default, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4)`,
        params,
      );
      await writeRules(db, "role_name", role.name, role.rules);
      return "created";
    }
    const stored = await db.query<RuleRow<boolean>>(
      `SELECT ${RULE_COLUMNS} FROM acl_rules WHERE role_name = $1 ORDER BY position`,
      [role.name],
    );
    const same =
      existing.description === role.description &&
      existing.is_default === role.isDefault &&
      sameRules(stored.rows, role.rules);
    if (same) return "unchanged";
    if (conflict === "skip") return "skipped";
    await db.query(
      "UPDATE acl_roles SET description = $2, is_default = $3, updated_at = $4 WHERE name = $1",
      params,
    );
    await writeRules(db, "role_name", role.name, role.rules);
    return "updated";
  };

  const apply = async (db: pg.ClientBase, plan: ImportPlan): Promise<ImportOutcome> => {
    const at = now();
    const { outcome, record } = importTally();
    for (const client of plan.clients) {
      record(client.username, await importClient(db, client, plan.conflict, at));
    }
    for (const role of plan.roles ?? []) {
      record(`role:${role.name}`, await importRole(db, role, plan.conflict, at));
    }
    for (const [username, rules] of plan.clientRules ?? []) {
      record(username, await importClientRules(db, username, rules, plan.conflict, at));
    }
    return outcome;
  };

  return {
    async applyImport(plan, audit) {
      try {
        return await withTransaction(pool, async (db) => {
          await db.query("SELECT pg_advisory_xact_lock($1::bigint)", [IMPORT_LOCK_KEY]);
          const outcome = await apply(db, plan);
          if (importRollsBack(plan, outcome)) throw new RollBack(outcome);
          const written = { ...outcome, written: true };
          // One audit row for the whole file, in this transaction.
          if (written.created.length + written.updated.length > 0) {
            await insertAudit(db, audit(written), now());
          }
          return written;
        });
      } catch (err) {
        if (err instanceof RollBack) return err.outcome;
        throw err;
      }
    },
  };
}
