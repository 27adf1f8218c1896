import autocannon from "autocannon";
import type { Shape } from "./args.js";
import { HOST } from "./processes.js";
import { resultOf } from "./storm.js";

/**
 * Steady load with autocannon (a real HTTP/1.1 load generator, with pipelining and latency
 * histograms): keep `connections × pipelining` requests in flight for a while, each request built
 * for the next client in the list, and count the answers by their body.
 */

export interface SteadyResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly total: number;
  readonly allowed: number;
  readonly results: Record<string, number>;
  readonly errors: number;
  readonly timeouts: number;
}

export async function runSteady(opts: {
  readonly port: number;
  readonly path: string;
  readonly shape: Shape;
  readonly seconds: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Requests per second, all connections together; absent: as fast as the server answers. */
  readonly rate?: number;
  /** The i-th request's JSON body. */
  readonly body: (i: number) => string;
}): Promise<SteadyResult> {
  let next = 0;
  const results: Record<string, number> = {};
  const result = await autocannon({
    url: `http://${HOST}:${opts.port}`,
    connections: opts.shape.connections,
    pipelining: opts.shape.pipelining,
    duration: opts.seconds,
    timeout: 10,
    ...(opts.rate !== undefined && { overallRate: opts.rate }),
    requests: [
      {
        method: "POST",
        path: opts.path,
        headers: { "content-type": "application/json", ...opts.headers },
        setupRequest: (req) => ({ ...req, body: opts.body(next++) }),
        onResponse: (status, body) => {
          const key = status === 200 ? resultOf(body) : `http ${status}`;
          results[key] = (results[key] ?? 0) + 1;
        },
      },
    ],
  });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    total: result.requests.total,
    allowed: results.allow ?? 0,
    results,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}
