import pg from "pg";

/** The database cannot be reached or refused us; the message never holds the URL's password. */
export class PostgresConnectError extends Error {
  override readonly name = "PostgresConnectError";
}

export interface PostgresPoolOptions {
  /** Connections this process keeps at most. */
  readonly max: number;
  /**
   * Connections kept open while idle (default: all `max`, so a connect storm after a quiet spell
   * does not pay for new connections and their SCRAM handshakes on the broker's deadline).
   */
  readonly min?: number;
  /**
   * Told of an error on an idle connection (the server restarted, a network cut): the pool drops
   * that connection and opens a new one when needed. The error's message is already redacted.
   */
  readonly onIdleError?: (err: Error) => void;
}

/** A server-side cap on one statement: a stuck query fails instead of holding a connection. */
export const STATEMENT_TIMEOUT_MS = 5000;
const CONNECT_TIMEOUT_MS = 3000;
const IDLE_TIMEOUT_MS = 30_000;
/** A transaction left open by a bug or a stalled process must not hold row locks for long. */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;

/**
 * The URL for messages and logs: the password replaced by ***, also in a `password=` query
 * parameter. Works on the raw text (everything up to the last @ of the authority is user info), so
 * a password that is not percent-encoded and would fool a URL parser is masked all the same.
 */
export function redactDbUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^?#]*@)?(.*)$/is.exec(url);
  if (m === null) return "(unparsable database URL)";
  const [, scheme = "", userinfo, rest = ""] = m;
  let out = scheme;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(":");
    out += colon === -1 ? userinfo : `${userinfo.slice(0, colon)}:***@`;
  }
  return out + rest.replace(/([?&]password=)[^&#]*/gi, "$1***");
}

/** Every form the URL's password may take in a message: raw, percent-decoded, percent-encoded. */
function secretsOf(url: string): string[] {
  const forms = new Set<string>();
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^?#]*)@/is.exec(url);
  const userinfo = m?.[1];
  if (userinfo?.includes(":")) forms.add(userinfo.slice(userinfo.indexOf(":") + 1));
  for (const q of url.matchAll(/[?&]password=([^&#]*)/gi)) if (q[1] !== undefined) forms.add(q[1]);
  for (const raw of [...forms]) {
    try {
      forms.add(decodeURIComponent(raw));
    } catch {
      // not valid percent-encoding: the raw form is masked already
    }
    forms.add(encodeURIComponent(raw));
  }
  forms.delete("");
  return [...forms].sort((a, b) => b.length - a.length);
}

/** `message` with the URL, and any form of its password, replaced by the redacted URL / ***. */
export function scrubDbSecrets(message: string, url: string): string {
  let out = message.split(url).join(redactDbUrl(url));
  for (const secret of secretsOf(url)) out = out.split(secret).join("***");
  return out;
}

const poolUrls = new WeakMap<pg.Pool, string>();

/**
 * A pg.Pool for the service: named for pg_stat_activity, bounded waits for a connection, a
 * server-side statement timeout, TCP keepalive. Connects lazily: the first query (or
 * `connectPool`) finds out whether the database is reachable.
 */
export function openPostgresPool(url: string, options: PostgresPoolOptions): pg.Pool {
  try {
    new URL(url);
  } catch {
    throw new PostgresConnectError(`not a valid PostgreSQL URL: ${redactDbUrl(url)}`);
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max,
    min: Math.min(options.min ?? options.max, options.max),
    application_name: "mqtt-authd",
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    keepAlive: true,
  });
  // Without a listener, an error on an idle connection would be an uncaught 'error' event and end
  // the process; the pool already discards the broken connection.
  pool.on("error", (err) => {
    options.onIdleError?.(new Error(scrubDbSecrets(err.message, url)));
  });
  poolUrls.set(pool, url);
  return pool;
}

/**
 * Opens up to `count` connections ahead of need (all of the pool's `max` by default), so the first
 * burst of logins finds them ready. Never rejects: a database that is down shows on first use.
 */
export async function warmPool(pool: pg.Pool, count: number = pool.options.max): Promise<void> {
  const wanted = Math.max(0, count - pool.totalCount);
  const clients = await Promise.all(Array.from({ length: wanted }, () => pool.connect().catch(() => null)));
  for (const client of clients) client?.release();
}

/**
 * Checks out a connection; a failure to connect becomes a PostgresConnectError naming the server
 * by its redacted URL, with pg's reason scrubbed of the password and no `cause` attached.
 */
export async function connectPool(pool: pg.Pool): Promise<pg.PoolClient> {
  try {
    return await pool.connect();
  } catch (err) {
    const url = poolUrls.get(pool) ?? pool.options.connectionString ?? "";
    const reason = err instanceof Error ? err.message : String(err);
    const where = url === "" ? "PostgreSQL" : redactDbUrl(url);
    throw new PostgresConnectError(
      `cannot connect to ${where}: ${url === "" ? reason : scrubDbSecrets(reason, url)}`,
    );
  }
}
