import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** `.ci/rabbitmq.sh`: the one description of how CI runs RabbitMQ, used by the tests as well. */
const SCRIPT = fileURLToPath(new URL("../../.ci/rabbitmq.sh", import.meta.url));

export function rabbitmqInstalled(): boolean {
  return (
    existsSync("/usr/sbin/rabbitmq-server") ||
    spawnSync("sh", ["-c", "command -v rabbitmq-server"], { stdio: "ignore" }).status === 0
  );
}

function run(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(SCRIPT, args, { env: { ...process.env, ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${SCRIPT} ${args[0]} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

export interface RabbitMq {
  readonly mqttPort: number;
  stop(): Promise<void>;
}

/**
 * A private RabbitMQ whose HTTP auth backend is the mqtt-authd at `baseUrl`; the hook secret is read
 * from `secretFile` (never passed on a command line). Bounded: the script gives up after 90 s.
 */
export async function startRabbitMq(baseUrl: string, workdir: string, secretFile: string): Promise<RabbitMq> {
  const env = { MQTT_AUTHD_HOOK_SECRET_FILE: secretFile };
  let stdout: string;
  try {
    stdout = await run(["start", baseUrl, workdir], env, 150_000);
  } catch (err) {
    await run(["stop", workdir], env, 60_000).catch(() => undefined);
    throw err;
  }
  const mqttPort = Number(stdout.trim().split("\n").at(-1));
  if (!Number.isInteger(mqttPort) || mqttPort <= 0) throw new Error(`no MQTT port in: ${stdout}`);
  return { mqttPort, stop: () => run(["stop", workdir], env, 60_000).then(() => undefined) };
}
