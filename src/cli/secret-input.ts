import { createInterface } from "node:readline";
import { Writable } from "node:stream";

/**
 * Secrets reach the CLI through stdin or a no-echo prompt, never argv: a command line is readable
 * by every local user in `ps` and /proc/<pid>/cmdline.
 */

const MAX_STDIN_BYTES = 1024 * 1024;

/** Reads all of stdin (like `docker login --password-stdin`); one trailing newline is dropped. */
export async function readSecretFromStdin(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > MAX_STDIN_BYTES) throw new Error("stdin is larger than 1 MiB; expected one password");
    chunks.push(buf);
  }
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

/** Prompts on the terminal without echoing what is typed. */
export function promptSecret(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write("\n");
      resolve(answer);
    });
    muted = true;
  });
}
