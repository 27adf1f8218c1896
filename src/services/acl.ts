import type { AclRequest, Rule } from "../acl/types.js";
import type { Authorize, AuthzDecision } from "../core/authorize.js";
import { AppError, notFound } from "../errors.js";
import type { RoleRecord, SourcedRule, Store } from "../store/types.js";
import type { Actor } from "./clients.js";

export interface RoleView {
  name: string;
  description: string;
  default: boolean;
  rules: Rule[];
  assigned_clients: number;
  created_at: string;
  updated_at: string;
}

const toRoleView = (r: RoleRecord): RoleView => ({
  name: r.name,
  description: r.description,
  default: r.isDefault,
  rules: r.rules,
  assigned_clients: r.assignedClients,
  created_at: r.createdAt,
  updated_at: r.updatedAt,
});

export interface ClientAclView {
  username: string;
  roles: string[];
  rules: Rule[];
  /** Everything that applies, in evaluation order, with where each rule comes from. */
  effective: SourcedRule[];
}

export interface RoleInputView {
  description: string;
  default: boolean;
  rules: Rule[];
}

export interface AclService {
  listRoles(): Promise<RoleView[]>;
  getRole(name: string): Promise<RoleView>;
  createRole(name: string, input: RoleInputView, actor: Actor): Promise<RoleView>;
  replaceRole(name: string, input: RoleInputView, actor: Actor): Promise<RoleView>;
  deleteRole(name: string, actor: Actor): Promise<void>;
  getClientAcl(username: string): Promise<ClientAclView>;
  replaceClientAcl(
    username: string,
    acl: { roles?: string[]; rules?: Rule[] },
    actor: Actor,
  ): Promise<ClientAclView>;
  /** The admin's question: what would the broker be told, and which rule decided? */
  check(req: AclRequest): Promise<AuthzDecision>;
}

export function createAclService(deps: { store: Store; authorize: Authorize }): AclService {
  const { store } = deps;

  const getRole = async (name: string) => {
    const role = await store.findRole(name);
    if (role === null) throw notFound(`role '${name}'`);
    return toRoleView(role);
  };

  const getClientAcl = async (username: string): Promise<ClientAclView> => {
    const [acl, found] = await Promise.all([
      store.findClientAcl(username),
      store.findClientWithRules(username),
    ]);
    if (acl === null || found === null) throw notFound(`client '${username}'`);
    return { username, ...acl, effective: found.rules };
  };

  const roleInput = (name: string, input: RoleInputView) => ({
    name,
    description: input.description,
    isDefault: input.default,
    rules: input.rules,
  });

  return {
    async listRoles() {
      return (await store.listRoles()).map(toRoleView);
    },

    getRole,

    async createRole(name, input, actor) {
      const details = { default: input.default, rules: input.rules };
      const inserted = await store.insertRole(roleInput(name, input), {
        actor,
        action: "role.create",
        target: `role:${name}`,
        details,
      });
      if (!inserted) throw new AppError("conflict", `role '${name}' already exists`);
      return getRole(name);
    },

    async replaceRole(name, input, actor) {
      const details = { default: input.default, rules: input.rules };
      const replaced = await store.replaceRole(roleInput(name, input), {
        actor,
        action: "role.replace",
        target: `role:${name}`,
        details,
      });
      if (!replaced) throw notFound(`role '${name}'`);
      return getRole(name);
    },

    async deleteRole(name, actor) {
      const result = await store.deleteRole(name, { actor, action: "role.delete", target: `role:${name}` });
      if (result === "not_found") throw notFound(`role '${name}'`);
      if (result === "in_use") {
        throw new AppError("conflict", `role '${name}' is assigned to clients; unassign it first`);
      }
    },

    getClientAcl,

    async replaceClientAcl(username, acl, actor) {
      const result = await store.replaceClientAcl(username, acl, {
        actor,
        action: "client.acl.replace",
        target: username,
        details: { ...acl },
      });
      if (!result.ok && result.reason === "not_found") throw notFound(`client '${username}'`);
      if (!result.ok && result.reason === "unknown_role") {
        throw new AppError("invalid_request", `role '${result.role}' does not exist`, [
          { path: "roles", message: `role '${result.role}' does not exist` },
        ]);
      }
      return getClientAcl(username);
    },

    check(req) {
      return deps.authorize(req);
    },
  };
}
