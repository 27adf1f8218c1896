import { LRUCache } from "lru-cache";
import type pg from "pg";
import type { AclStore, RoleInput, RoleRecord, Rule, SourcedRule } from "../../store/types.js";
import { type RuleRow, rowToRule, ruleToPgRow } from "../rows.js";
import { CLIENT_COLUMNS, type PgClientRow, pgRowToClient } from "./rows.js";
import {
  hasNul,
  iso,
  PG_FOREIGN_KEY_VIOLATION,
  type PgAudited,
  pgErrorCode,
  toNumber,
  withTransaction,
} from "./transaction.js";

export const RULE_COLUMNS = "permission, action, topic, qos, retain";

/** Which acl_rules column names the owner. */
export type RuleOwner = "role_name" | "client_username";

/** Replaces an owner's whole rule list: one DELETE, one INSERT of every rule (one bump each). */
export async function writeRules(
  client: pg.ClientBase,
  column: RuleOwner,
  owner: string,
  rules: readonly Rule[],
): Promise<void> {
  await client.query(`DELETE FROM acl_rules WHERE ${column} = $1`, [owner]);
  if (rules.length === 0) return;
  const rows = rules.map(ruleToPgRow);
  await client.query(
    `INSERT INTO acl_rules (${column}, position, ${RULE_COLUMNS})
     SELECT $1, t.position, t.permission, t.action, t.topic, t.qos, t.retain
     FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[])
       WITH ORDINALITY AS t(permission, action, topic, qos, retain, position)`,
    [
      owner,
      rows.map((r) => r.permission),
      rows.map((r) => r.action),
      rows.map((r) => r.topic),
      rows.map((r) => r.qos),
      rows.map((r) => r.retain),
    ],
  );
}

export async function readRules(client: pg.ClientBase, column: RuleOwner, owner: string): Promise<Rule[]> {
  const { rows } = await client.query<RuleRow<boolean>>(
    `SELECT ${RULE_COLUMNS} FROM acl_rules WHERE ${column} = $1 ORDER BY position`,
    [owner],
  );
  return rows.map(rowToRule);
}

interface RoleRow {
  name: string;
  description: string;
  is_default: boolean;
  created_at: Date;
  updated_at: Date;
  assigned_clients: string;
}

const ROLE_SELECT = `SELECT r.name, r.description, r.is_default, r.created_at, r.updated_at,
  (SELECT count(*) FROM client_roles cr WHERE cr.role_name = r.name) AS assigned_clients
  FROM acl_roles r`;

const toRole = (row: RoleRow, rules: Rule[]): RoleRecord => ({
  name: row.name,
  description: row.description,
  isDefault: row.is_default,
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
  rules,
  assignedClients: toNumber(row.assigned_clients),
});

/** The /mqtt/acl hot path: named statements, parsed and planned once per connection. */
const FIND_CLIENT_AND_GENERATION = "mqtt_authd_find_client_and_generation";
const EFFECTIVE_RULES = "mqtt_authd_effective_rules";

export function createPostgresAclStore(pool: pg.Pool, now: () => string, audited: PgAudited): AclStore {
  // Effective rules per client, valid while the database's ACL generation is unchanged (every
  // change to rules, roles or assignments bumps it, whichever replica makes it): the hot path reads
  // one integer with the client row, in the same statement, instead of running the effective_acl query.
  const rulesCache = new LRUCache<string, { generation: string; rules: SourcedRule[] }>({ max: 100_000 });

  const roleParams = (role: RoleInput) => [role.name, role.description, role.isDefault, now()];

  return {
    async findClientWithRules(username) {
      if (hasNul(username)) return null;
      const { rows } = await pool.query<PgClientRow & { acl_generation: string }>({
        name: FIND_CLIENT_AND_GENERATION,
        text: `SELECT ${CLIENT_COLUMNS}, (SELECT generation FROM acl_generation) AS acl_generation
               FROM mqtt_clients WHERE username = $1`,
        values: [username],
      });
      const row = rows[0];
      if (row === undefined) return null;
      const { acl_generation: generation, ...clientRow } = row;
      let cached = rulesCache.get(username);
      if (cached === undefined || cached.generation !== generation) {
        // Read after the generation: a change in between makes the next call read again, never
        // keeps older rules under a newer generation.
        const effective = await pool.query<RuleRow<boolean> & { source: string }>({
          name: EFFECTIVE_RULES,
          text: `SELECT source, ${RULE_COLUMNS} FROM effective_acl WHERE username = $1 ORDER BY eval_order`,
          values: [username],
        });
        const rules: SourcedRule[] = effective.rows.map((r) => ({ ...rowToRule(r), source: r.source }));
        cached = { generation, rules };
        rulesCache.set(username, cached);
      }
      return { client: pgRowToClient(clientRow), rules: cached.rules };
    },

    async listRoles() {
      // Two reads of one snapshot: the roles, then all their rules (not one query per role).
      return withTransaction(
        pool,
        async (client) => {
          const roles = await client.query<RoleRow>(`${ROLE_SELECT} ORDER BY r.name`);
          const rules = await client.query<RuleRow<boolean> & { role_name: string }>(
            `SELECT role_name, ${RULE_COLUMNS} FROM acl_rules WHERE role_name IS NOT NULL
             ORDER BY role_name, position`,
          );
          const byRole = new Map<string, Rule[]>();
          for (const { role_name, ...rule } of rules.rows) {
            const list = byRole.get(role_name) ?? [];
            list.push(rowToRule(rule));
            byRole.set(role_name, list);
          }
          return roles.rows.map((row) => toRole(row, byRole.get(row.name) ?? []));
        },
        { readOnly: true },
      );
    },

    async findRole(name) {
      if (hasNul(name)) return null;
      return withTransaction(
        pool,
        async (client) => {
          const { rows } = await client.query<RoleRow>(`${ROLE_SELECT} WHERE r.name = $1`, [name]);
          const row = rows[0];
          return row === undefined ? null : toRole(row, await readRules(client, "role_name", name));
        },
        { readOnly: true },
      );
    },

    async insertRole(role, audit) {
      return audited(
        audit,
        async (client) => {
          const inserted = await client.query(
            `INSERT INTO acl_roles (name, description, is_default, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT DO NOTHING`,
            roleParams(role),
          );
          if (inserted.rowCount !== 1) return false;
          await writeRules(client, "role_name", role.name, role.rules);
          return true;
        },
        (inserted) => inserted,
      );
    },

    async replaceRole(role, audit) {
      if (hasNul(role.name)) return false;
      return audited(
        audit,
        async (client) => {
          // The UPDATE locks the role's row: concurrent replacements of one role take turns.
          const updated = await client.query(
            "UPDATE acl_roles SET description = $2, is_default = $3, updated_at = $4 WHERE name = $1",
            roleParams(role),
          );
          if (updated.rowCount !== 1) return false;
          await writeRules(client, "role_name", role.name, role.rules);
          return true;
        },
        (updated) => updated,
      );
    },

    async deleteRole(name, audit) {
      if (hasNul(name)) return "not_found";
      try {
        return await audited(
          audit,
          async (client) => {
            const inUse = await client.query<{ n: string }>(
              "SELECT count(*) AS n FROM client_roles WHERE role_name = $1",
              [name],
            );
            if (toNumber(inUse.rows[0]!.n) > 0) return "in_use" as const;
            const deleted = await client.query("DELETE FROM acl_roles WHERE name = $1", [name]);
            return deleted.rowCount === 1 ? ("deleted" as const) : ("not_found" as const);
          },
          (result) => result === "deleted",
        );
      } catch (err) {
        // Assigned by another replica between the check and the delete: ON DELETE RESTRICT refused it.
        if (pgErrorCode(err) === PG_FOREIGN_KEY_VIOLATION) return "in_use";
        throw err;
      }
    },

    async findClientAcl(username) {
      if (hasNul(username)) return null;
      return withTransaction(
        pool,
        async (client) => {
          const found = await client.query("SELECT 1 FROM mqtt_clients WHERE username = $1", [username]);
          if (found.rowCount === 0) return null;
          const roles = await client.query<{ role_name: string }>(
            "SELECT role_name FROM client_roles WHERE client_username = $1 ORDER BY position",
            [username],
          );
          return {
            roles: roles.rows.map((r) => r.role_name),
            rules: await readRules(client, "client_username", username),
          };
        },
        { readOnly: true },
      );
    },

    async replaceClientAcl(username, acl, audit) {
      type Result = Awaited<ReturnType<AclStore["replaceClientAcl"]>>;
      if (hasNul(username)) return { ok: false, reason: "not_found" };
      return audited(
        audit,
        async (client): Promise<Result> => {
          // Locks the client: two replacements of one client's ACL take turns instead of colliding
          // on (client_username, position).
          const found = await client.query("SELECT 1 FROM mqtt_clients WHERE username = $1 FOR UPDATE", [
            username,
          ]);
          if (found.rowCount === 0) return { ok: false, reason: "not_found" };
          if (acl.roles !== undefined) {
            // FOR KEY SHARE: a role found here cannot be deleted before this commits.
            const existing = await client.query<{ name: string }>(
              "SELECT name FROM acl_roles WHERE name = ANY($1::text[]) FOR KEY SHARE",
              [acl.roles.filter((r) => !hasNul(r))],
            );
            const names = new Set(existing.rows.map((r) => r.name));
            const missing = acl.roles.find((role) => !names.has(role));
            if (missing !== undefined) return { ok: false, reason: "unknown_role", role: missing };
            await client.query("DELETE FROM client_roles WHERE client_username = $1", [username]);
            if (acl.roles.length > 0) {
              await client.query(
                `INSERT INTO client_roles (client_username, role_name, position)
                 SELECT $1, t.role_name, t.position FROM unnest($2::text[]) WITH ORDINALITY AS t(role_name, position)`,
                [username, acl.roles],
              );
            }
          }
          if (acl.rules !== undefined) await writeRules(client, "client_username", username, acl.rules);
          await client.query("UPDATE mqtt_clients SET updated_at = $1 WHERE username = $2", [
            now(),
            username,
          ]);
          return { ok: true };
        },
        (result) => result.ok,
      );
    },
  };
}
