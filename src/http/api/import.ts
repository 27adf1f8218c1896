import { Router } from "express";
import { importRequestSchema } from "../../schemas/import.js";
import type { ImportService } from "../../services/import.js";
import { parseOr400 } from "../validate.js";
import { tokenActor } from "./auth.js";

/**
 * `POST /api/v1/import`: a password or ACL file as text, with the settings its broker keeps
 * outside it. Answers 200 with the report, also for a dry run and for a file with bad lines.
 */
export function importRouter(imports: ImportService): Router {
  const router = Router();
  const actor = tokenActor;

  router.post("/import", async (req, res) => {
    const request = parseOr400(importRequestSchema, req.body, "import");
    res.json(await imports.importFile(request, actor(res)));
  });

  return router;
}
