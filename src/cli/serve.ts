import { createServer, type Server } from "node:http";
import { describeDatabase } from "../config.js";
import type { Services } from "../service.js";
import { buildHttpApp } from "../service.js";

/** Starts the HTTP server; resolves once it is listening, with a function that stops it gracefully. */
export async function serve(services: Services): Promise<{ server: Server; stop: () => Promise<void> }> {
  const { config, logger } = services;
  const app = await buildHttpApp(services);
  const server = createServer(app);
  server.listen(config.port, config.host);
  // EMQX keeps pooled connections with `keep-alive: timeout=30`: outlive it so they are not churned.
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  server.headersTimeout = config.keepAliveTimeoutMs + 1000;
  server.requestTimeout = 30_000;
  // Requests Node's parser refuses before the app sees them (headers over 16 KiB — EMQX's GET
  // encoding puts the password in the URL — or malformed HTTP) still get the JSON error shape.
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const tooLarge = err.code === "HPE_HEADER_OVERFLOW";
    const body = JSON.stringify({
      error: tooLarge
        ? { code: "headers_too_large", message: "request line and headers must stay under 16 KiB; use POST" }
        : { code: "invalid_request", message: "malformed HTTP request" },
    });
    socket.end(
      `HTTP/1.1 ${tooLarge ? "431 Request Header Fields Too Large" : "400 Bad Request"}\r\n` +
        `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `connection: close\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : config.port;
  logger.info({ host: config.host, port, db: describeDatabase(config.database) }, "mqtt-authd listening");

  const prune = () => {
    const daysAgo = (days: number) => new Date(Date.now() - days * 86400_000).toISOString();
    services.store
      .prune({ failures: daysAgo(config.retention.failureDays), audit: daysAgo(config.retention.auditDays) })
      .then((removed) => {
        if (removed.failures + removed.audit > 0) logger.info(removed, "retention: old rows removed");
      })
      .catch((err: unknown) => logger.error({ err }, "retention: prune failed"));
  };
  prune();
  const pruneTimer = setInterval(prune, 3600_000);
  pruneTimer.unref();

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      logger.info("shutting down: no new connections, finishing in-flight requests");
      clearInterval(pruneTimer);
      services.lifecycle.shuttingDown = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
      await closed;
      clearTimeout(timer);
      await services.close();
      logger.info("stopped");
    })();
    return stopping;
  };
  return { server, stop };
}
