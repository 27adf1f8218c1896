/**
 * Child process: the yardstick. A bare Express 5 app that parses the JSON body and answers allow,
 * with the same keep-alive as mqtt-authd. Prints its port as one JSON line on stdout.
 */
import express from "express";

const app = express();
app.disable("x-powered-by");
app.use(express.json());
app.post("/{*path}", (_req, res) => {
  res.json({ result: "allow" });
});
const server = app.listen(0, "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ msg: "bare express listening", port })}\n`);
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
process.once("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
});
