import { Router } from "express";
import {
  createClientSchema,
  listClientsQuerySchema,
  patchClientSchema,
  rotatePasswordSchema,
  usernameSchema,
} from "../../schemas/clients.js";
import type { ClientService } from "../../services/clients.js";
import { parseOr400 } from "../validate.js";
import { tokenActor } from "./auth.js";

/** `/api/v1/clients`: thin over the client service; every route already passed `requireToken`. */
export function clientsRouter(clients: ClientService): Router {
  const router = Router();
  const actor = tokenActor;
  const username = (raw: string | string[] | undefined) => parseOr400(usernameSchema, raw, "username");

  router.post("/clients", async (req, res) => {
    const input = parseOr400(createClientSchema, req.body, "client");
    const { client, generatedPassword } = await clients.create(input, actor(res));
    res.status(201).location(`/api/v1/clients/${encodeURIComponent(client.username)}`);
    res.json(generatedPassword === undefined ? client : { ...client, password: generatedPassword });
  });

  router.get("/clients", async (req, res) => {
    res.json(await clients.list(parseOr400(listClientsQuerySchema, req.query, "query")));
  });

  router.get("/clients/:username", async (req, res) => {
    res.json(await clients.get(username(req.params.username)));
  });

  router.patch("/clients/:username", async (req, res) => {
    const patch = parseOr400(patchClientSchema, req.body, "client update");
    res.json(await clients.update(username(req.params.username), patch, actor(res)));
  });

  router.post("/clients/:username/password", async (req, res) => {
    const name = username(req.params.username);
    const { password } = parseOr400(rotatePasswordSchema, req.body ?? {}, "password change");
    const { generatedPassword } = await clients.rotatePassword(name, password, actor(res));
    const { password_changed_at } = await clients.get(name);
    res.json({
      username: name,
      password_changed_at,
      ...(generatedPassword !== undefined && { password: generatedPassword }),
    });
  });

  router.delete("/clients/:username", async (req, res) => {
    await clients.delete(username(req.params.username), actor(res));
    res.status(204).end();
  });

  return router;
}
