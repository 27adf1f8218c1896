import type { HookEncoding } from "./api.js";
import { SECRET_HEADER } from "./context.js";

/** Calls to a real `mqtt-authd serve` process (test/helpers/server-process.ts) over fetch. */

export interface RemoteResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  readonly body: unknown;
}

async function read(res: Response): Promise<RemoteResponse> {
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, text, body };
}

/** A provisioning API call with a bearer token and (when given) a JSON body. */
export async function remoteApi(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<RemoteResponse> {
  return read(
    await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined && { "content-type": "application/json" }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    }),
  );
}

/** A broker hook call (/mqtt/auth or /mqtt/acl) in one of the three encodings EMQX uses. */
export async function remoteHook(
  baseUrl: string,
  hookSecret: string,
  fields: Record<string, string>,
  encoding: HookEncoding = "json",
  path = "/mqtt/auth",
): Promise<RemoteResponse> {
  const headers = { [SECRET_HEADER]: hookSecret };
  const full = { clientid: "c1", peerhost: "10.0.0.1", ...fields };
  switch (encoding) {
    case "json":
      return read(
        await fetch(`${baseUrl}${path}`, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body: JSON.stringify(full),
        }),
      );
    case "form":
      return read(
        await fetch(`${baseUrl}${path}`, {
          method: "POST",
          headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams(full).toString(),
        }),
      );
    case "query":
      return read(await fetch(`${baseUrl}${path}?${new URLSearchParams(full).toString()}`, { headers }));
  }
}
