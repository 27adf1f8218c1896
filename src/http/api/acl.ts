import { Router } from "express";
import {
  aclCheckSchema,
  clientAclSchema,
  createRoleSchema,
  replaceRoleSchema,
  roleNameSchema,
} from "../../schemas/acl.js";
import { usernameSchema } from "../../schemas/clients.js";
import type { AclService } from "../../services/acl.js";
import { parseOr400 } from "../validate.js";
import { tokenActor } from "./auth.js";

/** `/api/v1/roles…` and `/api/v1/clients/:username/acl…`. */
export function aclRouter(acl: AclService): Router {
  const router = Router();
  const actor = tokenActor;
  const roleName = (raw: unknown) => parseOr400(roleNameSchema, raw, "role name");
  const username = (raw: unknown) => parseOr400(usernameSchema, raw, "username");

  router.get("/roles", async (_req, res) => {
    res.json({ data: await acl.listRoles() });
  });

  router.post("/roles", async (req, res) => {
    const { name, ...input } = parseOr400(createRoleSchema, req.body, "role");
    const role = await acl.createRole(name, input, actor(res));
    res
      .status(201)
      .location(`/api/v1/roles/${encodeURIComponent(name)}`)
      .json(role);
  });

  router.get("/roles/:name", async (req, res) => {
    res.json(await acl.getRole(roleName(req.params.name)));
  });

  router.put("/roles/:name", async (req, res) => {
    const input = parseOr400(replaceRoleSchema, req.body, "role");
    res.json(await acl.replaceRole(roleName(req.params.name), input, actor(res)));
  });

  router.delete("/roles/:name", async (req, res) => {
    await acl.deleteRole(roleName(req.params.name), actor(res));
    res.status(204).end();
  });

  router.get("/clients/:username/acl", async (req, res) => {
    res.json(await acl.getClientAcl(username(req.params.username)));
  });

  router.put("/clients/:username/acl", async (req, res) => {
    const body = parseOr400(clientAclSchema, req.body, "client ACL");
    const input = {
      ...(body.roles !== undefined && { roles: body.roles }),
      ...(body.rules !== undefined && { rules: body.rules }),
    };
    res.json(await acl.replaceClientAcl(username(req.params.username), input, actor(res)));
  });

  router.get("/clients/:username/acl/check", async (req, res) => {
    const name = username(req.params.username);
    const q = parseOr400(aclCheckSchema, req.query, "query");
    const decision = await acl.check({ ...q, username: name });
    res.json(decision);
  });

  return router;
}
