import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import express, { type Request, type RequestHandler } from "express";
import type { Level, Logger } from "pino";

declare global {
  namespace Express {
    interface Request {
      /** This request's id, also sent back as `x-request-id`. */
      id: string;
      /** A child logger that carries the request id (created on first use). */
      log: Logger;
    }
  }
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

const ROOT_LOGGER = Symbol("mqtt-authd.rootLogger");
const CHILD_LOGGER = Symbol("mqtt-authd.childLogger");

interface LoggedRequest {
  [ROOT_LOGGER]?: Logger;
  [CHILD_LOGGER]?: Logger;
  id: string;
}

// A child logger costs more than the rest of a fast-path answer, and most requests log nothing: it
// is made the first time `req.log` is read. Defined once on Express's request prototype (every app's
// `req` inherits from it); each request carries only its app's root logger.
Object.defineProperty(express.request, "log", {
  configurable: true,
  get(this: LoggedRequest): Logger {
    let child = this[CHILD_LOGGER];
    if (child === undefined) {
      const root = this[ROOT_LOGGER];
      if (root === undefined) throw new Error("req.log read before the requestLog middleware ran");
      child = root.child({ reqId: this.id });
      this[CHILD_LOGGER] = child;
    }
    return child;
  },
  set(this: LoggedRequest, logger: Logger) {
    this[CHILD_LOGGER] = logger;
  },
});

/** Would `req.log[level]` write anything? Asks without creating the request's child logger. */
export function logs(req: Request, level: Level): boolean {
  const root = (req as unknown as LoggedRequest)[ROOT_LOGGER];
  return root?.isLevelEnabled(level) === true;
}

/** The request's id: the caller's `x-request-id` when it is a sane one, else a fresh UUID. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const incoming = headers["x-request-id"];
  return typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** The per-request line (at debug): what it says, for every path that answers a request. */
export function requestLine(method: string, path: string, status: number, ms: number) {
  return { method, path, status, ms: Math.round(ms * 100) / 100 };
}

/**
 * One log line per request: method, path, status, duration. Never the query string (a GET from
 * the broker carries the password there), never headers (the hook secret, bearer tokens), never bodies.
 */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const id = requestIdOf(req.headers);
    req.id = id;
    (req as unknown as LoggedRequest)[ROOT_LOGGER] = logger;
    res.setHeader("x-request-id", id);
    // The per-request line is written at debug: below that level, no listener and no clock read.
    if (logger.isLevelEnabled("debug")) {
      const started = performance.now();
      res.on("finish", () => {
        const path = req.originalUrl.split("?")[0] ?? "";
        req.log.debug(requestLine(req.method, path, res.statusCode, performance.now() - started), "request");
      });
    }
    next();
  };
}
