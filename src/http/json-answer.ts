import type { ServerResponse } from "node:http";
import type { Request, Response } from "express";

export type ETagFn = (body: Buffer | string, encoding?: BufferEncoding) => string | undefined;

/**
 * A JSON answer serialised once and sent many times: the broker hooks answer the same few bodies
 * (`{"result":"allow"}`, one client's login answer) over and over. What goes on the wire is exactly
 * what `res.status(200).json(value)` sends (same body, Content-Type, Content-Length and ETag), without
 * redoing the serialisation, the ETag hash and Express's header parsing for every request.
 */
export class JsonAnswer {
  private readonly body: Buffer;
  private readonly length: string;
  private etagFor: ETagFn | undefined;
  private etag: string | undefined;

  constructor(value: unknown) {
    // The app sets no "json replacer", "json spaces" or "json escape": res.json's output is this.
    this.body = Buffer.from(JSON.stringify(value), "utf8");
    this.length = String(this.body.length);
  }

  get byteLength(): number {
    return this.body.length;
  }

  /** Answers 200 with this body, through Express. */
  send(req: Request, res: Response): void {
    // GET and HEAD go through Express: conditional requests (304) and HEAD's empty body are its job.
    if (req.method !== "POST") {
      res.status(200).type("application/json").send(this.body);
      return;
    }
    res.statusCode = 200;
    res.setHeader("Content-Type", "application/json; charset=utf-8");
    res.setHeader("Content-Length", this.length);
    const etag = this.etagWith(req.app.get("etag fn") as ETagFn | undefined);
    if (etag !== undefined) res.setHeader("ETag", etag);
    res.end(this.body);
  }

  /**
   * Answers a POST 200 with this body on a bare Node response, after `leading` (flat name/value
   * pairs): the headers `send` would set, in the same order, in one `writeHead`.
   */
  write(res: ServerResponse, leading: string[], etagFn: ETagFn | undefined): void {
    leading.push("Content-Type", "application/json; charset=utf-8", "Content-Length", this.length);
    const etag = this.etagWith(etagFn);
    if (etag !== undefined) leading.push("ETag", etag);
    res.writeHead(200, leading);
    res.end(this.body);
  }

  private etagWith(etagFn: ETagFn | undefined): string | undefined {
    if (typeof etagFn !== "function") return undefined;
    if (etagFn !== this.etagFor) {
      this.etag = etagFn(this.body);
      this.etagFor = etagFn;
    }
    return this.etag;
  }
}
