import type { ClientIdentity } from "./types.js";

const PLACEHOLDERS = {
  "${username}": "username",
  "${clientid}": "clientid",
} as const satisfies Record<string, keyof ClientIdentity>;

export type Placeholder = keyof typeof PLACEHOLDERS;

export function isPlaceholder(s: string): s is Placeholder {
  return Object.hasOwn(PLACEHOLDERS, s);
}

const UNSAFE_IN_VALUE = ["+", "#", "/", "\u0000", "${"];

/**
 * A value may only stand for exactly one literal level. Anything that could turn into a
 * wildcard, a level separator, or (for EMQX, which renders rule topics again) another
 * placeholder would widen the rule, so such values make the rule inapplicable instead.
 * Mosquitto only refuses "+" and "#" (peer-brokers.md §2); we refuse more.
 */
function isSafeValue(value: string, isFirstLevel: boolean): boolean {
  if (value === "" || UNSAFE_IN_VALUE.some((unsafe) => value.includes(unsafe))) return false;
  // A first level starting with "$" lands in broker-reserved space ($SYS, EMQX's $delayed
  // republishes to any topic), which a client choosing its own client ID must not reach.
  return !(isFirstLevel && value.startsWith("$"));
}

/**
 * Replaces whole-level placeholders in `pattern` (a rule topic without its "eq " prefix).
 * Returns null, meaning "this rule does not apply to this client", when a value is unsafe
 * or when "${" appears anywhere but as a whole-level known placeholder.
 */
export function expandPlaceholders(pattern: string, ids: ClientIdentity): string | null {
  const levels: string[] = [];
  for (const [i, level] of pattern.split("/").entries()) {
    if (isPlaceholder(level)) {
      const value = ids[PLACEHOLDERS[level]];
      if (!isSafeValue(value, i === 0)) return null;
      levels.push(value);
    } else if (level.includes("${")) {
      return null;
    } else {
      levels.push(level);
    }
  }
  return levels.join("/");
}
