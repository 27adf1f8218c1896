import pino, { type DestinationStream, type Logger } from "pino";

/**
 * Structured JSON logs. Call sites never log secrets; redaction is the second line of defence for
 * any object that might carry one by accident.
 */
export const REDACT_PATHS = [
  "password",
  "*.password",
  "token",
  "*.token",
  "secret",
  "*.secret",
  "authorization",
  "*.authorization",
  "headers",
  "*.headers",
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "mqtt-authd" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    },
    destination ?? pino.destination({ dest: 2, sync: false }),
  );
}
