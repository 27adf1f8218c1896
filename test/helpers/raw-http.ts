import { Agent, type IncomingHttpHeaders, request } from "node:http";

/**
 * HTTP with nothing added: the exact bytes, the exact headers (no content type unless given), so
 * tests can send what a careless or hostile client would. A request unanswered within `timeoutMs`
 * rejects: a hang is a failure, not a slow test.
 */

export interface RawRequest {
  readonly method: string;
  /** Already percent-encoded where needed (Node refuses raw control and non-Latin-1 characters). */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

export function createRawClient(origin: { host: string; port: number }, timeoutMs = 10_000) {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  return {
    send(req: RawRequest): Promise<RawResponse> {
      return new Promise((resolve, reject) => {
        const headers: Record<string, string> = { ...req.headers };
        if (req.body !== undefined) headers["content-length"] = String(req.body.length);
        const outgoing = request({ ...origin, agent, method: req.method, path: req.path, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            clearTimeout(timer);
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString("utf8"),
            });
          });
          res.on("error", reject);
        });
        const timer = setTimeout(() => {
          outgoing.destroy();
          reject(new Error(`no answer within ${timeoutMs} ms to ${req.method} ${req.path.slice(0, 200)}`));
        }, timeoutMs);
        outgoing.on("error", (err) => {
          clearTimeout(timer);
          reject(err);
        });
        outgoing.end(req.body);
      });
    },
    close(): void {
      agent.destroy();
    },
  };
}

/** Percent-encodes every byte of the string's UTF-8 form that is not unreserved (lone surrogates become U+FFFD). */
export function percentEncode(value: string): string {
  let out = "";
  for (const byte of Buffer.from(value, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._~-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
