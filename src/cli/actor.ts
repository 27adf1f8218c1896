import { userInfo } from "node:os";

/** Who made a change from the command line, for the audit log. */
export const cliActor = (): string => `cli:${userInfo().username}`;
