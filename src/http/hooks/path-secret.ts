import type { RequestHandler } from "express";
import { AppError } from "../../errors.js";
import { secretMatcher } from "../../passwords/secrets.js";

/**
 * For brokers that cannot send a custom header (RabbitMQ, mosquitto-go-auth, VerneMQ), the hook
 * secret is the path segment after the contract's prefix, compared in constant time:
 * `app.use("/<contract>/:secret", behindPathSecret(secret, router))`.
 *
 * Before anything else runs, the segment is replaced by `:secret` in `req.originalUrl` (the request
 * log prints it) and `req.baseUrl` (the route label of the HTTP metrics), whether it was right or
 * wrong: a near miss is still a secret. `router` is called from here, not mounted after this, so it
 * inherits the redacted base. A wrong or missing secret is a 401: every broker treats a non-2xx as a
 * refusal or an error, never as an allow.
 */
export function behindPathSecret(secret: string, router: RequestHandler): RequestHandler {
  const matches = secretMatcher(secret);
  return (req, res, next) => {
    const presented = typeof req.params.secret === "string" ? req.params.secret : "";
    // `req.baseUrl` is the matched mount path as it arrived (still encoded); its last segment is the secret.
    const base = req.baseUrl;
    const rest = req.originalUrl.startsWith(base) ? req.originalUrl.slice(base.length) : "";
    req.baseUrl = `${base.slice(0, base.lastIndexOf("/") + 1)}:secret`;
    req.originalUrl = `${req.baseUrl}${rest}`;
    if (!matches(presented)) {
      next(new AppError("unauthorized", "missing or wrong hook secret in the path"));
      return;
    }
    router(req, res, next);
  };
}
