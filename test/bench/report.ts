import { cpus, loadavg, totalmem } from "node:os";

/** One figure of the run, with the target when it has one. */
export interface Row {
  readonly scenario: string;
  readonly shape: string;
  readonly figure: string;
  readonly value: string;
  readonly target?: { readonly text: string; readonly met: boolean };
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly os: string;
  /** 1-minute load average when the run started and ended: other work on the machine skews every figure. */
  readonly load: readonly [start: number, end: number];
}

export const loadNow = (): number => loadavg()[0] ?? 0;

export function describeMachine(loadAtStart: number): Machine {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? "unknown",
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${process.platform} ${process.arch}`,
    load: [loadAtStart, loadNow()],
  };
}

export const fixed = (n: number, digits = 0): string =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "–";

export const ms = (n: number): string => `${fixed(n, n < 10 ? 2 : n < 100 ? 1 : 0)} ms`;

export const pct = (r: number): string => `${fixed(r * 100, r > 0.999 && r < 1 ? 2 : 1)} %`;

export function renderTable(rows: readonly Row[]): string {
  const cells = rows.map((r) => [
    r.scenario,
    r.shape,
    r.figure,
    r.value,
    r.target === undefined ? "" : `${r.target.text} ${r.target.met ? "✓" : "✗"}`,
  ]);
  const header = ["Scenario", "Shape", "Figure", "Value", "Target"];
  const line = (c: readonly string[]) => `| ${c.map((x) => x.replaceAll("|", "\\|")).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...cells.map(line)].join("\n");
}

export function renderMachine(m: Machine, command: string, totalSeconds: number): string {
  return [
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.os}, Node ${m.node}`,
    `Load average (1 min) at start / end: ${fixed(m.load[0], 2)} / ${fixed(m.load[1], 2)}`,
    `Command: ${command}   (whole run: ${fixed(totalSeconds)} s)`,
  ].join("\n");
}
