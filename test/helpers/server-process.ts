import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { type Exit, MAIN } from "./processes.js";

export interface ServerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly baseUrl: string;
  readonly port: number;
  /** Everything the process wrote so far, stdout and stderr. */
  output(): string;
  /** stderr's JSON log lines so far. */
  logLines(): Record<string, unknown>[];
  /** Sends `signal` and resolves with how the process ended. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

function parseLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * Starts the real `mqtt-authd serve` (from dist/) and waits for its "mqtt-authd listening" log line,
 * which carries the port it bound (MQTT_AUTHD_PORT=0 picks a free one).
 */
export async function startServer(env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN, "serve"], {
    env: { MQTT_AUTHD_HOST: "127.0.0.1", MQTT_AUTHD_PORT: "0", ...env },
    stdio: "pipe",
  });
  child.stdin.end();
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  const exited = new Promise<Exit>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal })),
  );

  const port = await new Promise<number>((resolve, reject) => {
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      const complete = stderr.slice(0, stderr.lastIndexOf("\n") + 1);
      const listening = parseLines(complete).find((l) => l.msg === "mqtt-authd listening");
      if (listening !== undefined) resolve(listening.port as number);
    });
    void exited.then((exit) =>
      reject(new Error(`mqtt-authd serve exited before listening (${JSON.stringify(exit)}): ${stderr}`)),
    );
  });

  return {
    child,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => stdout + stderr,
    logLines: () => parseLines(stderr),
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
