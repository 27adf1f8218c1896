import type { RequestHandler } from "express";
import { AppError } from "../../errors.js";
import { secretsEqual } from "../../passwords/secrets.js";

/**
 * The broker hooks are protected by a shared secret in a header, compared in constant time.
 * Without it: 401, which EMQX treats as "ignore" (the device is not let in by us).
 */
export function requireHookSecret(header: string, secret: string): RequestHandler {
  return (req, _res, next) => {
    const presented = req.get(header);
    if (presented === undefined || !secretsEqual(presented, secret)) {
      next(new AppError("unauthorized", `missing or wrong ${header} header`));
      return;
    }
    next();
  };
}
