/** A problem with one line of the input (1-based); line 0 stands for the input as a whole. */
export interface LineError {
  line: number;
  reason: string;
}

export interface CredentialRecord {
  line: number;
  username: string;
  /** A stored hash string that verifyWithFormat understands. */
  hash: string;
}

export interface ParsedCredentials<R> {
  records: R[];
  errors: LineError[];
}

/**
 * Splits text into lines without their terminators. A leading byte-order mark, which Windows
 * editors add and which would otherwise glue itself to the first username, is dropped.
 */
export function textLines(text: string): string[] {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/**
 * The brokers we import from let a later line for the same user replace an earlier one.
 * Keep the last record per username and report each replaced line.
 */
export function keepLastPerUsername<R extends { line: number; username: string }>(
  parsed: ParsedCredentials<R>,
): ParsedCredentials<R> {
  const last = new Map<string, R>();
  for (const record of parsed.records) last.set(record.username, record);
  const records = parsed.records.filter((r) => last.get(r.username) === r);
  const replaced = parsed.records
    .filter((r) => last.get(r.username) !== r)
    .map((r) => ({
      line: r.line,
      reason: `user "${r.username}" is defined again on line ${last.get(r.username)?.line}, which wins`,
    }));
  const errors = [...parsed.errors, ...replaced].sort((a, b) => a.line - b.line);
  return { records, errors };
}
