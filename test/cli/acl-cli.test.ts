// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${clientid}" is the placeholder syntax under test.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRows } from "../helpers/db.js";
import { childEnv, makeTempDir, removeDir, runCli } from "../helpers/processes.js";

/** One database for the file: each step builds on the previous one, as an admin's session would. */
let dir: string;
let env: NodeJS.ProcessEnv;
const cli = (args: string[], input = "") => runCli(args, env, input);

const SENSOR_RULES = [
  { permission: "allow", action: "publish", topic: "sensors/${clientid}/#" },
  { permission: "allow", action: "subscribe", topic: "cmd/${clientid}" },
];

beforeAll(async () => {
  dir = makeTempDir();
  env = childEnv({ MQTT_AUTHD_DB: join(dir, "cli.db") });
  const added = await cli(["client", "add", "dev1", "--generate"]);
  expect(added.code, added.stderr).toBe(0);
});
afterAll(() => removeDir(dir));

describe("mqtt-authd role, client set-roles and acl check", () => {
  it("role create reads the rules from --rules-stdin", async () => {
    const run = await cli(
      ["role", "create", "sensor", "--description", "field sensors", "--rules-stdin"],
      JSON.stringify(SENSOR_RULES),
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/created role sensor \(2 rules\)/);

    const shown = await cli(["role", "show", "sensor"]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      name: "sensor",
      description: "field sensors",
      rules: SENSOR_RULES,
    });
  });

  it("role create refuses a malformed filter with the reason and exit 2, creating nothing", async () => {
    const run = await cli(
      ["role", "create", "broken", "--rules-stdin"],
      JSON.stringify([{ permission: "allow", action: "publish", topic: "a/#/b" }]),
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/rules\.0\.topic: '#' must be the last level/);
    expect((await cli(["role", "show", "broken"])).code).toBe(1);
  });

  it("role create refuses rules that are not JSON, with exit 2", async () => {
    const run = await cli(["role", "create", "broken", "--rules-stdin"], "allow publish a/b");
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/not valid JSON/);
  });

  it("client set-roles assigns the role and prints the effective rules with their sources", async () => {
    const run = await cli(["client", "set-roles", "dev1", "sensor"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^roles: sensor$/m);
    expect(run.stdout).toMatch(/^ {2}1\trole:sensor\tallow publish sensors\/\$\{clientid\}\/#$/m);
    expect(run.stdout).toMatch(/^ {2}2\trole:sensor\tallow subscribe cmd\/\$\{clientid\}$/m);
  });

  it("client set-roles refuses a role that does not exist, and keeps the assignment", async () => {
    const run = await cli(["client", "set-roles", "dev1", "sensor", "ghost"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/role 'ghost' does not exist/);
    const acl = await cli(["client", "acl", "dev1", "--json"]);
    expect(JSON.parse(acl.stdout)).toMatchObject({ roles: ["sensor"] });
  });

  it("acl check prints allow with the deciding rule, and exits 0", async () => {
    const run = await cli(["acl", "check", "dev1", "s1", "publish", "sensors/s1/temp", "--qos", "1"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe("allow  (rule 1, role:sensor: allow publish sensors/${clientid}/#)");
  });

  it("acl check prints deny with the default that applied, and exits 3", async () => {
    const run = await cli(["acl", "check", "dev1", "s1", "publish", "sensors/s2/temp"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(3);
    expect(run.stdout.trim()).toBe("deny  (no rule matched: default deny)");
  });

  it("acl check names the client's own rule when it decides before the role", async () => {
    const rulesFile = join(dir, "own-rules.json");
    writeFileSync(
      rulesFile,
      JSON.stringify([
        { permission: "deny", action: "publish", topic: "sensors/${clientid}/secret", retain: true },
      ]),
    );
    const set = await cli(["client", "set-rules", "dev1", "--rules-file", rulesFile]);
    expect(set.code, set.stderr).toBe(0);

    const retained = await cli(["acl", "check", "dev1", "s1", "publish", "sensors/s1/secret", "--retain"]);
    expect(retained.code).toBe(3);
    expect(retained.stdout.trim()).toBe(
      "deny  (rule 1, client: deny publish sensors/${clientid}/secret retain true)",
    );
    const plain = await cli(["acl", "check", "dev1", "s1", "publish", "sensors/s1/secret"]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^allow {2}\(rule 2, role:sensor: /);
  });

  it("acl check exits 3 for an unknown user and an invalid topic, saying why", async () => {
    const ghost = await cli(["acl", "check", "ghost", "s1", "publish", "a/b"]);
    expect(ghost.code).toBe(3);
    expect(ghost.stdout.trim()).toBe("deny  (unknown user)");
    const wildcard = await cli(["acl", "check", "dev1", "s1", "publish", "sensors/s1/+"]);
    expect(wildcard.code).toBe(3);
    expect(wildcard.stdout).toMatch(/^deny {2}\(invalid topic: .*wildcards/);
  });

  it("acl check refuses an action other than publish or subscribe with exit 2", async () => {
    const run = await cli(["acl", "check", "dev1", "s1", "read", "a/b"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/action/);
  });

  it("role delete refuses an assigned role, then deletes it once unassigned", async () => {
    const refused = await cli(["role", "delete", "sensor"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/assigned/);
    expect((await cli(["client", "set-roles", "dev1"])).code).toBe(0);
    const deleted = await cli(["role", "delete", "sensor"]);
    expect(deleted.code, deleted.stderr).toBe(0);
    const list = await cli(["role", "list", "--json"]);
    expect(JSON.parse(list.stdout)).toEqual([]);
  });

  it("audits every change as cli:<os user>", () => {
    const rows = auditRows(join(dir, "cli.db")).filter(
      (r) => r.action.startsWith("role.") || r.action.startsWith("client.acl"),
    );
    expect(rows.map((r) => r.action)).toEqual([
      "role.create",
      "client.acl.replace",
      "client.acl.replace",
      "client.acl.replace",
      "role.delete",
    ]);
    for (const row of rows) expect(row.actor).toMatch(/^cli:./);
  });
});
