import type { Config } from "../config.js";
import { isExpired } from "../core/authenticate.js";
import { AppError, notFound } from "../errors.js";
import { checkPassword } from "../passwords/policy.js";
import { generatePassword } from "../passwords/secrets.js";
import type { PasswordService } from "../passwords/service.js";
import type { CreateClientInput, ListClientsQuery, PatchClientInput } from "../schemas/clients.js";
import type { ClientPatch, ClientRecord, ClientState, Store, StoredPassword } from "../store/types.js";

/** The client as the API shows it: never a hash. */
export interface ClientView {
  username: string;
  state: ClientState;
  enabled: boolean;
  is_superuser: boolean;
  client_id: string | null;
  expires_at: string | null;
  description: string;
  password_origin: ClientRecord["passwordOrigin"];
  hash_format: string;
  created_at: string;
  updated_at: string;
  password_changed_at: string;
  last_login_at: string | null;
  last_login_peerhost: string | null;
}

export function clientState(c: ClientRecord, at: Date): ClientState {
  if (!c.isEnabled) return "disabled";
  return isExpired(c, at) ? "expired" : "active";
}

export function toClientView(c: ClientRecord, at = new Date()): ClientView {
  return {
    username: c.username,
    state: clientState(c, at),
    enabled: c.isEnabled,
    is_superuser: c.isSuperuser,
    client_id: c.boundClientId,
    expires_at: c.expiresAt,
    description: c.description,
    password_origin: c.passwordOrigin,
    hash_format: c.hashFormat,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    password_changed_at: c.passwordChangedAt,
    last_login_at: c.lastLoginAt,
    last_login_peerhost: c.lastLoginPeerhost,
  };
}

/** Who asked for a change, for the audit log: a token name or `cli:<os user>`. */
export type Actor = string;

export interface ClientService {
  create(input: CreateClientInput, actor: Actor): Promise<{ client: ClientView; generatedPassword?: string }>;
  get(username: string): Promise<ClientView>;
  list(query: ListClientsQuery): Promise<{ data: ClientView[]; next_after: string | null }>;
  update(username: string, patch: PatchClientInput, actor: Actor): Promise<ClientView>;
  rotatePassword(
    username: string,
    password: string | undefined,
    actor: Actor,
  ): Promise<{ generatedPassword?: string }>;
  delete(username: string, actor: Actor): Promise<void>;
}

export function createClientService(deps: {
  store: Store;
  passwords: PasswordService;
  config: Pick<Config, "passwordMinLength" | "passwordMaxBytes">;
}): ClientService {
  const { store, passwords } = deps;
  const policy = { minLength: deps.config.passwordMinLength, maxBytes: deps.config.passwordMaxBytes };

  /** A supplied password is checked against the policy; none means the server generates one. */
  const preparePassword = async (
    supplied: string | undefined,
  ): Promise<{ stored: StoredPassword; generated?: string }> => {
    if (supplied === undefined) {
      const generated = generatePassword();
      return { stored: await passwords.hash(generated, "generated"), generated };
    }
    const problem = checkPassword(supplied, policy);
    if (problem !== null)
      throw new AppError("invalid_request", problem, [{ path: "password", message: problem }]);
    return { stored: await passwords.hash(supplied, "chosen") };
  };

  const get = async (username: string): Promise<ClientView> => {
    const client = await store.findClient(username);
    if (client === null) throw notFound(`client '${username}'`);
    return toClientView(client);
  };

  return {
    async create(input, actor) {
      // Cheap check first so a duplicate does not cost a hash; the insert still decides under races.
      if ((await store.findClient(input.username)) !== null) {
        throw new AppError("conflict", `client '${input.username}' already exists`);
      }
      const { stored, generated } = await preparePassword(input.password);
      const inserted = await store.insertClient(
        {
          username: input.username,
          password: stored,
          boundClientId: input.client_id ?? null,
          isSuperuser: input.is_superuser ?? false,
          isEnabled: input.enabled ?? true,
          expiresAt: input.expires_at ?? null,
          description: input.description ?? "",
        },
        {
          actor,
          action: "client.create",
          target: input.username,
          details: {
            password_origin: stored.origin,
            client_id: input.client_id ?? null,
            is_superuser: input.is_superuser ?? false,
            enabled: input.enabled ?? true,
            expires_at: input.expires_at ?? null,
          },
        },
      );
      if (!inserted) throw new AppError("conflict", `client '${input.username}' already exists`);
      const client = await get(input.username);
      return generated === undefined ? { client } : { client, generatedPassword: generated };
    },

    get,

    async list(query) {
      const rows = await store.listClients({
        limit: query.limit + 1,
        ...(query.after !== undefined && { after: query.after }),
        ...(query.state !== undefined && { state: query.state }),
        ...(query.is_superuser !== undefined && { isSuperuser: query.is_superuser }),
        ...(query.prefix !== undefined && { usernamePrefix: query.prefix }),
      });
      const page = rows.slice(0, query.limit);
      const at = new Date();
      return {
        data: page.map((c) => toClientView(c, at)),
        next_after: rows.length > query.limit ? page[page.length - 1]!.username : null,
      };
    },

    async update(username, input, actor) {
      const patch: ClientPatch = {
        ...(input.client_id !== undefined && { boundClientId: input.client_id }),
        ...(input.is_superuser !== undefined && { isSuperuser: input.is_superuser }),
        ...(input.enabled !== undefined && { isEnabled: input.enabled }),
        ...(input.expires_at !== undefined && { expiresAt: input.expires_at }),
        ...(input.description !== undefined && { description: input.description }),
      };
      const updated = await store.updateClient(username, patch, {
        actor,
        action: "client.update",
        target: username,
        details: { ...input },
      });
      if (updated === null) throw notFound(`client '${username}'`);
      return toClientView(updated);
    },

    async rotatePassword(username, password, actor) {
      if ((await store.findClient(username)) === null) throw notFound(`client '${username}'`);
      const { stored, generated } = await preparePassword(password);
      const changed = await store.setPassword(username, stored, {
        actor,
        action: "client.password.rotate",
        target: username,
        details: { password_origin: stored.origin },
      });
      if (!changed) throw notFound(`client '${username}'`);
      return generated === undefined ? {} : { generatedPassword: generated };
    },

    async delete(username, actor) {
      const deleted = await store.deleteClient(username, {
        actor,
        action: "client.delete",
        target: username,
      });
      if (!deleted) throw notFound(`client '${username}'`);
    },
  };
}
