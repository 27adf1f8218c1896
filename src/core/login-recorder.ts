import type { Logger } from "pino";
import type { LoginRecord, Store } from "../store/types.js";

/**
 * Last-login bookkeeping never delays the broker's answer: logins are coalesced in memory (one entry
 * per username, the newest wins) and written in one transaction every `flushMs`.
 */
export interface LoginRecorder {
  record(login: LoginRecord): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createLoginRecorder(store: Store, logger: Logger, flushMs: number): LoginRecorder {
  let pending = new Map<string, LoginRecord>();
  let flushing: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    if (pending.size === 0) return flushing;
    const batch = [...pending.values()];
    pending = new Map();
    flushing = flushing
      .then(() => store.recordLogins(batch))
      .catch((err: unknown) => logger.warn({ err, count: batch.length }, "could not record last logins"));
    return flushing;
  };

  const timer = setInterval(() => void flush(), flushMs);
  timer.unref();

  return {
    record(login) {
      pending.set(login.username, login);
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
