import type { ErrorRequestHandler, RequestHandler } from "express";
import { AppError } from "../errors.js";

/** body-parser's error types, mapped onto our closed list of codes. */
function fromBodyParser(err: { type?: unknown; status?: unknown }): AppError | null {
  switch (err.type) {
    case "entity.parse.failed":
      return new AppError("invalid_json", "request body is not valid JSON");
    case "entity.too.large":
      return new AppError("payload_too_large", "request body is too large");
    case "encoding.unsupported":
    case "charset.unsupported":
      return new AppError("unsupported_media_type", "unsupported content encoding or charset");
    case "parameters.too.many":
      return new AppError("invalid_request", "too many form parameters");
    case "request.aborted":
    case "request.size.invalid":
      return new AppError("invalid_request", "request body was incomplete");
    default:
      return typeof err.status === "number" && err.status >= 400 && err.status < 500
        ? new AppError("invalid_request", "malformed request")
        : null;
  }
}

export const routeNotFound: RequestHandler = (req, _res, next) => {
  next(new AppError("not_found", `no route for ${req.method} ${req.path}`));
};

/**
 * The one error renderer: `{ error: { code, message, details? } }`. Only errors we raised on purpose
 * (status < 500) expose their message; anything else is logged and becomes a bare 500.
 */
export const errorHandler: ErrorRequestHandler = (err: unknown, req, res, _next) => {
  const appError =
    err instanceof AppError
      ? err
      : (fromBodyParser(err as { type?: unknown; status?: unknown }) ??
        new AppError("internal", "internal error"));
  if (appError.status >= 500) req.log.error({ err }, "request failed");
  if (res.headersSent) return;
  const body: { code: string; message: string; details?: unknown } = {
    code: appError.code,
    message: appError.message,
  };
  if (appError.details !== undefined) body.details = appError.details;
  res.status(appError.status).json({ error: body });
};
