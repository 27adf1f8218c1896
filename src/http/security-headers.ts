import type { RequestHandler } from "express";

/**
 * A JSON-only service needs few headers, but needs them everywhere: nothing is rendered, framed,
 * sniffed or cached (answers carry generated passwords and tokens). As name/value pairs, for the
 * Express middleware and the EMQX hooks' lane that answers below Express.
 */
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ["cache-control", "no-store"],
  ["x-content-type-options", "nosniff"],
  ["content-security-policy", "default-src 'none'; frame-ancestors 'none'"],
  ["x-frame-options", "DENY"],
  ["referrer-policy", "no-referrer"],
  ["cross-origin-resource-policy", "same-origin"],
];

export const securityHeaders: RequestHandler = (_req, res, next) => {
  for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
  next();
};
