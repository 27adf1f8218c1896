import type { RequestHandler } from "express";

/**
 * A JSON-only service needs few headers, but needs them everywhere: nothing is rendered, framed,
 * sniffed or cached (answers carry generated passwords and tokens).
 */
export const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader("cache-control", "no-store");
  res.setHeader("x-content-type-options", "nosniff");
  res.setHeader("content-security-policy", "default-src 'none'; frame-ancestors 'none'");
  res.setHeader("x-frame-options", "DENY");
  res.setHeader("referrer-policy", "no-referrer");
  res.setHeader("cross-origin-resource-policy", "same-origin");
  next();
};
