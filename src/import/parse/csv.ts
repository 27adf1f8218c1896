import type { LineError } from "./lines.js";

export interface CsvRow {
  /** Line on which the row starts; a quoted field may carry it over several lines. */
  line: number;
  fields: string[];
}

export type CsvParse = { ok: true; rows: CsvRow[] } | { ok: false; error: LineError };

/**
 * RFC 4180 CSV: comma-separated, `"`-quoted fields may hold commas, line breaks and `""`
 * for a quote; CRLF or LF ends a row. Unquoted fields are trimmed, as EMQX's reader does,
 * while quoted ones are kept exactly. Blank lines are skipped.
 */
export function parseCsv(text: string): CsvParse {
  const s = text.replace(/^\uFEFF/, "");
  const rows: CsvRow[] = [];
  let pos = 0;
  let line = 1;

  const skipBlanks = () => {
    while (s[pos] === " " || s[pos] === "\t") pos++;
  };

  // pos is on the opening quote; leaves pos after the closing quote and any blanks.
  const quoted = (): string | LineError => {
    const startLine = line;
    let value = "";
    for (pos++; pos < s.length; pos++) {
      const c = s[pos];
      if (c === '"' && s[pos + 1] === '"') {
        value += '"';
        pos++;
      } else if (c === '"') {
        pos++;
        skipBlanks();
        const next = s[pos];
        if (next === undefined || next === "," || next === "\r" || next === "\n") return value;
        return { line, reason: "unexpected text after a closing quote" };
      } else {
        if (c === "\n") line++;
        value += c;
      }
    }
    return { line: startLine, reason: "a quoted field is never closed" };
  };

  const unquoted = (): string => {
    const rest = s.slice(pos).search(/[,\r\n]/);
    const end = rest === -1 ? s.length : pos + rest;
    const value = s.slice(pos, end).trim();
    pos = end;
    return value;
  };

  while (pos < s.length) {
    const row: CsvRow = { line, fields: [] };
    for (;;) {
      skipBlanks();
      const field = s[pos] === '"' ? quoted() : unquoted();
      if (typeof field !== "string") return { ok: false, error: field };
      row.fields.push(field);
      if (s[pos] !== ",") break;
      pos++;
    }
    if (s[pos] === "\r") pos++;
    if (s[pos] === "\n") pos++;
    line++;
    if (row.fields.length > 1 || row.fields[0] !== "") rows.push(row);
  }
  return { ok: true, rows };
}
