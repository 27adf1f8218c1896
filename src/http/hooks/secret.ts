import type { RequestHandler } from "express";
import { AppError } from "../../errors.js";
import { secretMatcher } from "../../passwords/secrets.js";

/**
 * The broker hooks are protected by a shared secret in a header, compared in constant time.
 * Without it: 401, which EMQX treats as "ignore" (the device is not let in by us).
 */
export function requireHookSecret(header: string, secret: string): RequestHandler {
  const matches = secretMatcher(secret);
  const name = header.toLowerCase();
  return (req, _res, next) => {
    // Node folds a repeated custom header into one "a, b" string, as `req.get` returns it.
    const presented = req.headers[name];
    if (typeof presented !== "string" || !matches(presented)) {
      next(new AppError("unauthorized", `missing or wrong ${header} header`));
      return;
    }
    next();
  };
}
