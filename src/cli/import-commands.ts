import { randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { parseArgs } from "node:util";
import type { z } from "zod";
import { importRequestSchema } from "../schemas/import.js";
import type { Services } from "../service.js";
import { exportMosquittoPasswd } from "../services/export.js";
import type { ImportReport } from "../services/import.js";
import { cliActor } from "./actor.js";
import { type CliIo, UsageError } from "./commands.js";

const IMPORT_USAGE =
  "usage: mqtt-authd import mosquitto-passwd|mosquitto-acl|emqx-users|go-auth FILE [--dry-run] " +
  "[--conflict skip|overwrite] [--partial]";

const IMPORT_OPTIONS = {
  "dry-run": { type: "boolean" },
  conflict: { type: "string" },
  partial: { type: "boolean" },
  // emqx-users: the authenticator's settings, which its export does not carry.
  algorithm: { type: "string" },
  "salt-position": { type: "string" },
  "mac-fun": { type: "string" },
  iterations: { type: "string" },
  "dk-length": { type: "string" },
  // go-auth: hasher_salt_encoding.
  "salt-encoding": { type: "string" },
} as const;

const integer = (value: string | undefined) => (value === undefined ? undefined : Number(value));

/** The API's request body, built from the command line, so both edges accept exactly the same. */
function requestBody(
  format: string,
  file: string,
  content: string,
  values: ReturnType<typeof parseImportArgs>["values"],
): Record<string, unknown> {
  const extension = extname(file).toLowerCase();
  const body: Record<string, unknown> = {
    format,
    content,
    file_name: basename(file),
    conflict: values.conflict,
    dry_run: values["dry-run"] === true,
    all_or_nothing: values.partial !== true,
    algorithm: values.algorithm,
    salt_position: values["salt-position"],
    mac_fun: values["mac-fun"],
    iterations: integer(values.iterations),
    dk_length: integer(values["dk-length"]),
    salt_encoding: values["salt-encoding"],
    file_format:
      format === "emqx-users" && (extension === ".csv" || extension === ".json")
        ? extension.slice(1)
        : undefined,
  };
  // Absent flags stay absent: the schema refuses, for instance, --algorithm on a mosquitto file.
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
}

function parseImportArgs(args: string[]) {
  return parseArgs({ args, options: IMPORT_OPTIONS, allowPositionals: true });
}

/** A schema issue in the command line's terms: flags rather than the API's field names. */
function describeIssue(issue: z.core.$ZodIssue, format: string): string {
  const flag = (key: PropertyKey) => `--${String(key).replaceAll("_", "-")}`;
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `${flag(key)} does not apply to ${format}`).join("; ");
  }
  const [field] = issue.path;
  if (field === "format") return `unknown format '${format}'; ${IMPORT_USAGE}`;
  return `${field === undefined ? "" : `${flag(field)}: `}${issue.message}`;
}

function summary(report: ImportReport): string {
  const counts = `${report.created} created, ${report.updated} updated, ${report.unchanged} unchanged, ${report.skipped} skipped, ${report.failed.length} failed`;
  if (report.applied) return `imported: ${counts}`;
  if (report.dry_run) return `dry run, nothing written: ${counts}`;
  return `nothing written, because lines failed (fix them, or apply the good ones with --partial): ${counts}`;
}

/** `mqtt-authd import FORMAT FILE …`: prints the report as JSON; exit 1 when any line failed. */
export async function runImportCommand(services: Services, io: CliIo, args: string[]): Promise<number> {
  const { values, positionals } = parseImportArgs(args);
  const [format, file] = positionals;
  if (format === undefined || file === undefined || positionals.length > 2)
    throw new UsageError(IMPORT_USAGE);
  let content: string;
  try {
    content = await readFile(file, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code})`);
  }
  const parsed = importRequestSchema.safeParse(requestBody(format, file, content, values));
  if (!parsed.success) throw new UsageError(describeIssue(parsed.error.issues[0]!, format));
  const report = await services.imports.importFile(parsed.data, cliActor());
  io.out(JSON.stringify(report, null, 2));
  process.stderr.write(`${summary(report)}\n`);
  return report.failed.length === 0 ? 0 : 1;
}

/** Written beside the destination with mode 0600, then renamed: hashes are never readable by others. */
async function writePrivately(path: string, text: string): Promise<void> {
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(temporary, text, { mode: 0o600, flag: "wx" });
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

/** `mqtt-authd export mosquitto-passwd [FILE]`: the file on stdout, or into FILE; what was left out on stderr. */
export async function runExportCommand(services: Services, io: CliIo, args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true });
  const [format, file] = positionals;
  if (format !== "mosquitto-passwd" || positionals.length > 2) {
    throw new UsageError("usage: mqtt-authd export mosquitto-passwd [FILE]");
  }
  const result = await exportMosquittoPasswd(services.store);
  if (file === undefined) {
    if (result.text !== "") io.out(result.text.replace(/\n$/, ""));
  } else {
    await writePrivately(file, result.text);
  }
  for (const s of result.skipped) process.stderr.write(`skipped ${s.username}: ${s.reason}\n`);
  process.stderr.write(`exported ${result.exported} client(s), skipped ${result.skipped.length}\n`);
  return 0;
}
