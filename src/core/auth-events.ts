import type { Logger } from "pino";
import type { FailureRecord, LoginRecord, Store } from "../store/types.js";

/**
 * Bookkeeping of logins and failed logins never delays the broker's answer: events are buffered in
 * memory and written in one transaction every `flushMs`. Last logins are coalesced (the newest per
 * username wins); failures are bounded so a flood cannot grow the buffer without limit.
 */
export interface AuthEvents {
  login(login: LoginRecord): void;
  failure(failure: FailureRecord): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

// Per flush: at most this many failure rows are written, whatever the flood.
const MAX_BUFFERED_FAILURES = 1000;

export function createAuthEvents(
  store: Pick<Store, "recordLogins" | "recordFailures">,
  logger: Logger,
  flushMs: number,
): AuthEvents {
  let logins = new Map<string, LoginRecord>();
  let failures: FailureRecord[] = [];
  let dropped = 0;
  let flushing: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    if (logins.size === 0 && failures.length === 0) return flushing;
    const loginBatch = [...logins.values()];
    const failureBatch = failures;
    const droppedNow = dropped;
    logins = new Map();
    failures = [];
    dropped = 0;
    if (droppedNow > 0) logger.warn({ dropped: droppedNow }, "failed-login records dropped under load");
    flushing = flushing
      .then(async () => {
        await store.recordLogins(loginBatch);
        await store.recordFailures(failureBatch);
      })
      .catch((err: unknown) => logger.warn({ err }, "could not record login events"));
    return flushing;
  };

  const timer = setInterval(() => void flush(), flushMs);
  timer.unref();

  return {
    login(login) {
      logins.set(login.username, login);
    },
    failure(failure) {
      if (failures.length >= MAX_BUFFERED_FAILURES) dropped++;
      else failures.push(failure);
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
