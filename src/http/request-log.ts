import { randomUUID } from "node:crypto";
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

/**
 * One log line per request: method, path, status, duration. Never the query string (a GET from
 * the broker carries the password there), never headers (the hook secret, bearer tokens), never bodies.
 */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.headers["x-request-id"];
    const id = typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.id = id;
    (req as unknown as LoggedRequest)[ROOT_LOGGER] = logger;
    res.setHeader("x-request-id", id);
    // The per-request line is written at debug: below that level, no listener and no clock read.
    if (logger.isLevelEnabled("debug")) {
      const started = performance.now();
      res.on("finish", () => {
        const ms = performance.now() - started;
        req.log.debug(
          {
            method: req.method,
            path: req.originalUrl.split("?")[0],
            status: res.statusCode,
            ms: Math.round(ms * 100) / 100,
          },
          "request",
        );
      });
    }
    next();
  };
}
