import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseCsv } from "../../../src/import/parse/csv.js";

describe("parseCsv", () => {
  it("splits rows on CRLF or LF and skips blank lines", () => {
    expect(parseCsv("a,b\r\n\r\nc,d\n\ne,f")).toEqual({
      ok: true,
      rows: [
        { line: 1, fields: ["a", "b"] },
        { line: 3, fields: ["c", "d"] },
        { line: 5, fields: ["e", "f"] },
      ],
    });
  });

  it("trims unquoted fields, as EMQX does, and keeps quoted ones exactly", () => {
    expect(parseCsv(' h1 , h2 \n " x " ,y')).toEqual({
      ok: true,
      rows: [
        { line: 1, fields: ["h1", "h2"] },
        { line: 2, fields: [" x ", "y"] },
      ],
    });
  });

  it("keeps empty fields, including a trailing one", () => {
    expect(parseCsv("a,,\n")).toEqual({ ok: true, rows: [{ line: 1, fields: ["a", "", ""] }] });
  });

  it("refuses text after a closing quote", () => {
    expect(parseCsv('a\n"x"y,z')).toEqual({
      ok: false,
      error: { line: 2, reason: "unexpected text after a closing quote" },
    });
  });

  it("reads back any fields written with RFC 4180 quoting", () => {
    const quote = (s: string) => `"${s.replaceAll('"', '""')}"`;
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.string(), { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 5 }),
        (table) => {
          const text = table.map((row) => row.map(quote).join(",")).join("\r\n");
          const parsed = parseCsv(text);
          expect(parsed.ok && parsed.rows.map((r) => r.fields)).toEqual(table);
        },
      ),
    );
  });
});
