/** `npm run bench -- [--clients N] [--storm-clients N] [--quick] [--json FILE] [--shapes 8x100,64x1] [--no-postgres] [--set MQTT_AUTHD_X=V]…` */

export interface Shape {
  /** EMQX `pool_size`: connections to the backend. */
  readonly connections: number;
  /** EMQX `enable_pipelining`: requests in flight per connection. */
  readonly pipelining: number;
}

export interface BenchArgs {
  readonly clients: number;
  readonly stormClients: number;
  readonly quick: boolean;
  readonly jsonFile: string | undefined;
  /** The first is EMQX's default shape; the others are the alternatives measured beside it. */
  readonly shapes: readonly Shape[];
  /** How long each steady-state measurement (warm, ACL, bare Express, flood) runs. */
  readonly steadySeconds: number;
  readonly floodSeconds: number;
  readonly limitSeconds: number;
  /** Measure PostgreSQL beside SQLite (needs its server binaries or MQTT_AUTHD_BENCH_PG_URL). */
  readonly postgres: boolean;
  /** MQTT_AUTHD_* settings for the server under test (`--set`, repeatable): tuning, never secrets. */
  readonly serverEnv: Readonly<Record<string, string>>;
}

export const EMQX_DEFAULT_SHAPE: Shape = { connections: 8, pipelining: 100 };

export const shapeName = (s: Shape): string => `${s.connections}×${s.pipelining}`;

function parseShape(text: string): Shape {
  const m = /^(\d{1,4})x(\d{1,4})$/.exec(text.trim());
  if (m === null) throw new Error(`--shapes: expected CONNECTIONSxPIPELINING, got '${text}'`);
  const shape = { connections: Number(m[1]), pipelining: Number(m[2]) };
  if (shape.connections < 1 || shape.pipelining < 1) throw new Error(`--shapes: '${text}' must be ≥ 1x1`);
  return shape;
}

function positiveInt(flag: string, value: string | undefined, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${flag}: expected an integer 1..${max}`);
  return n;
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  let clients: number | undefined;
  let stormClients: number | undefined;
  let quick = false;
  let postgres = true;
  let jsonFile: string | undefined;
  let shapes: Shape[] = [EMQX_DEFAULT_SHAPE, { connections: 64, pipelining: 1 }];
  const serverEnv: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag}: missing value`);
      return v;
    };
    if (flag === "--clients") clients = positiveInt(flag, value(), 100_000);
    else if (flag === "--storm-clients") stormClients = positiveInt(flag, value(), 200_000);
    else if (flag === "--quick") quick = true;
    else if (flag === "--no-postgres") postgres = false;
    else if (flag === "--json") jsonFile = value();
    else if (flag === "--shapes") shapes = value().split(",").map(parseShape);
    else if (flag === "--set") {
      const m = /^(MQTT_AUTHD_[A-Z0-9_]+)=(.*)$/.exec(value());
      if (m === null || /SECRET|TOKEN|_DB|URL/.test(m[1]!)) {
        throw new Error(
          "--set: expected MQTT_AUTHD_NAME=VALUE, a tuning setting (not the database or a secret)",
        );
      }
      serverEnv[m[1]!] = m[2]!;
    } else
      throw new Error(
        `unknown argument '${flag}' (known: --clients, --storm-clients, --quick, --json, --shapes, --no-postgres, --set)`,
      );
  }
  return {
    clients: clients ?? (quick ? 40 : 2000),
    stormClients: stormClients ?? (quick ? 500 : 10_000),
    quick,
    jsonFile,
    shapes,
    steadySeconds: quick ? 1 : 4,
    floodSeconds: quick ? 2 : 8,
    limitSeconds: quick ? 1 : 3,
    postgres,
    serverEnv,
  };
}
