import type { RequestHandler } from "express";
import { AppError } from "../../errors.js";
import type { TokenService } from "../../services/tokens.js";
import type { TokenRecord, TokenScope } from "../../store/types.js";

declare global {
  namespace Express {
    interface Locals {
      token: TokenRecord;
    }
  }
}

// The auth scheme is case-insensitive (RFC 9110 §11.1).
const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]{1,512})$/i;

/** `Authorization: Bearer <token>`; a `read` token may only read, an `admin` token may do anything. */
export function requireToken(tokens: TokenService): RequestHandler {
  return async (req, res, next) => {
    const match = BEARER.exec(req.get("authorization") ?? "");
    const token = match ? await tokens.authenticate(match[1]!) : null;
    if (token === null) {
      res.setHeader("www-authenticate", 'Bearer realm="mqtt-authd"');
      throw new AppError("unauthorized", "a valid admin token is required (Authorization: Bearer …)");
    }
    const needed: TokenScope = req.method === "GET" || req.method === "HEAD" ? "read" : "admin";
    if (needed === "admin" && token.scope !== "admin") {
      throw new AppError("forbidden", `token '${token.name}' has scope '${token.scope}'; this needs 'admin'`);
    }
    res.locals.token = token;
    tokens.touch(token.name).catch((err: unknown) => req.log.warn({ err }, "could not record token use"));
    next();
  };
}

/** Who made a change through the API, for the audit log: the token's name, never the token. */
export const tokenActor = (res: { locals: { token: { name: string } } }): string =>
  `token:${res.locals.token.name}`;

/** Provisioning API bodies are JSON; anything else is refused before it is parsed. */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  if (
    (req.method === "POST" || req.method === "PATCH" || req.method === "PUT") &&
    !req.is("application/json")
  ) {
    const hasBody =
      req.get("content-length") !== "0" &&
      (req.get("content-length") !== undefined || req.get("transfer-encoding") !== undefined);
    if (hasBody || req.get("content-type") !== undefined) {
      next(new AppError("unsupported_media_type", "request bodies must be application/json"));
      return;
    }
  }
  next();
};
