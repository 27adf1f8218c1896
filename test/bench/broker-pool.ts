import { createConnection, type Socket } from "node:net";
import type { Shape } from "./args.js";

/**
 * The broker's side of the wire, as EMQX 5's HTTP client (ehttpc) behaves: `pool_size` keep-alive
 * connections, each request given to a random one (`pool_type = random`), at most
 * `enable_pipelining` requests in flight per connection, the rest queued in that connection's
 * worker. The broker's clock starts when the request is queued: a request still queued when its
 * `request_timeout` (5 s) runs out is dropped unsent, and an answer that arrives after it is late
 * (the broker has already treated it as ignore). HTTP/1.1 answers come back in order per connection,
 * so a slow answer holds up every answer behind it — which is what this client is for measuring.
 *
 * A deliberately small HTTP/1.1 client (Content-Length bodies only: what Express sends for JSON).
 */

export type Reply =
  | { readonly kind: "answer"; readonly status: number; readonly body: string; readonly ms: number }
  | { readonly kind: "late"; readonly status: number; readonly body: string; readonly ms: number }
  /** Dropped by the broker before it was sent: waited in its queue past request_timeout. */
  | { readonly kind: "expired"; readonly ms: number }
  | { readonly kind: "error"; readonly ms: number; readonly message: string };

interface Job {
  readonly bytes: Buffer;
  readonly queuedAt: number;
  readonly done: (reply: Reply) => void;
}

const CRLF2 = Buffer.from("\r\n\r\n");

class Connection {
  private socket: Socket | null = null;
  private connected = false;
  private readonly pending: Job[] = [];
  private pendingHead = 0;
  private readonly inflight: Job[] = [];
  private inflightHead = 0;
  private buf: Buffer = Buffer.alloc(0);
  private status = 0;
  private bodyBytes = -1;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly pipelining: number,
    private readonly timeoutMs: number,
  ) {}

  enqueue(job: Job): void {
    this.pending.push(job);
    this.pump();
  }

  /** The broker drops queued requests whose timeout ran out; it tells the device at that moment. */
  expireQueued(now: number): void {
    while (this.pendingHead < this.pending.length) {
      const job = this.pending[this.pendingHead]!;
      if (now - job.queuedAt <= this.timeoutMs) break;
      this.pendingHead++;
      job.done({ kind: "expired", ms: now - job.queuedAt });
    }
    this.compact();
  }

  close(): void {
    this.socket?.destroy();
  }

  private get inflightCount(): number {
    return this.inflight.length - this.inflightHead;
  }

  private compact(): void {
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
    if (this.inflightHead > 1024 && this.inflightHead * 2 > this.inflight.length) {
      this.inflight.splice(0, this.inflightHead);
      this.inflightHead = 0;
    }
  }

  private pump(): void {
    if (this.socket === null) {
      this.open();
      return;
    }
    if (!this.connected) return;
    const now = performance.now();
    this.socket.cork();
    while (this.inflightCount < this.pipelining && this.pendingHead < this.pending.length) {
      const job = this.pending[this.pendingHead++]!;
      if (now - job.queuedAt > this.timeoutMs) {
        job.done({ kind: "expired", ms: now - job.queuedAt });
        continue;
      }
      this.inflight.push(job);
      this.socket.write(job.bytes);
    }
    this.socket.uncork();
    this.compact();
  }

  private open(): void {
    const socket = createConnection({ host: this.host, port: this.port, noDelay: true });
    this.socket = socket;
    socket.on("connect", () => {
      this.connected = true;
      this.pump();
    });
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => {});
    socket.on("close", () => {
      const wasConnected = this.connected;
      this.socket = null;
      this.connected = false;
      this.buf = Buffer.alloc(0);
      this.bodyBytes = -1;
      const now = performance.now();
      const failed = this.inflight.splice(this.inflightHead);
      this.inflight.length = 0;
      this.inflightHead = 0;
      // Never connected: fail the queue too, or a dead server would make this reconnect forever.
      if (!wasConnected) failed.push(...this.pending.splice(this.pendingHead));
      for (const job of failed)
        job.done({ kind: "error", ms: now - job.queuedAt, message: "connection closed" });
      if (wasConnected && this.pendingHead < this.pending.length) this.pump();
    });
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.bodyBytes < 0) {
        const end = this.buf.indexOf(CRLF2);
        if (end < 0) return;
        const head = this.buf.toString("latin1", 0, end);
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (length === null) {
          this.socket?.destroy(new Error("response without Content-Length"));
          return;
        }
        this.status = Number(head.slice(9, 12));
        this.bodyBytes = Number(length[1]);
        this.buf = this.buf.subarray(end + 4);
      }
      if (this.buf.length < this.bodyBytes) return;
      const body = this.buf.toString("utf8", 0, this.bodyBytes);
      this.buf = this.buf.subarray(this.bodyBytes);
      this.bodyBytes = -1;
      const job = this.inflight[this.inflightHead++];
      if (job === undefined) {
        this.socket?.destroy(new Error("answer without a request"));
        return;
      }
      const ms = performance.now() - job.queuedAt;
      job.done({ kind: ms > this.timeoutMs ? "late" : "answer", status: this.status, body, ms });
      this.pump();
    }
  }
}

export class BrokerPool {
  private readonly connections: Connection[];
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly opts: {
      readonly host: string;
      readonly port: number;
      readonly shape: Shape;
      readonly headers: Readonly<Record<string, string>>;
      /** EMQX authn `request_timeout`. */
      readonly timeoutMs: number;
    },
  ) {
    this.connections = Array.from(
      { length: opts.shape.connections },
      () => new Connection(opts.host, opts.port, opts.shape.pipelining, opts.timeoutMs),
    );
    this.sweeper = setInterval(() => {
      const now = performance.now();
      for (const c of this.connections) c.expireQueued(now);
    }, 50);
  }

  /** POSTs a JSON body; `done` is called exactly once. */
  post(path: string, json: string, done: (reply: Reply) => void): void {
    const body = Buffer.from(json, "utf8");
    let head = `POST ${path} HTTP/1.1\r\nhost: ${this.opts.host}:${this.opts.port}\r\n`;
    head += "content-type: application/json\r\n";
    for (const [name, value] of Object.entries(this.opts.headers)) head += `${name}: ${value}\r\n`;
    head += `content-length: ${body.length}\r\n\r\n`;
    const conn = this.connections[Math.floor(Math.random() * this.connections.length)]!;
    conn.enqueue({
      bytes: Buffer.concat([Buffer.from(head, "latin1"), body]),
      queuedAt: performance.now(),
      done,
    });
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const c of this.connections) c.close();
  }
}
