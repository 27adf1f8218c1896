export type TopicValidation = { ok: true } | { ok: false; reason: string };

// MQTT 3.1.1 and 5.0 §1.5.3/§1.5.4: UTF-8 strings carry a two-byte length prefix.
const MAX_TOPIC_BYTES = 65_535;

// MQTT strings must be well-formed UTF-8, and a lone surrogate has no UTF-8 encoding.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const OK: TopicValidation = { ok: true };

function fail(reason: string): TopicValidation {
  return { ok: false, reason };
}

function validateText(s: string, kind: "name" | "filter"): TopicValidation {
  if (s.length === 0) return fail(`a topic ${kind} must not be empty`);
  if (s.includes("\u0000")) return fail(`a topic ${kind} must not contain the null character U+0000`);
  if (LONE_SURROGATE.test(s)) return fail(`a topic ${kind} must be valid Unicode (it has a lone surrogate)`);
  if (Buffer.byteLength(s, "utf8") > MAX_TOPIC_BYTES) {
    return fail(`a topic ${kind} must be at most ${MAX_TOPIC_BYTES} bytes long in UTF-8`);
  }
  return OK;
}

/** MQTT §4.7: the topic of a PUBLISH. */
export function validateTopicName(s: string): TopicValidation {
  const text = validateText(s, "name");
  if (!text.ok) return text;
  if (s.includes("+") || s.includes("#"))
    return fail("a topic name must not contain the wildcards '+' or '#'");
  return OK;
}

/** MQTT §4.7: the topic of a SUBSCRIBE, or of an ACL rule. */
export function validateTopicFilter(s: string): TopicValidation {
  const text = validateText(s, "filter");
  if (!text.ok) return text;
  const levels = s.split("/");
  for (const [i, level] of levels.entries()) {
    if (level.includes("#")) {
      if (level !== "#") return fail("'#' must occupy a whole level");
      if (i !== levels.length - 1) return fail("'#' must be the last level of a filter");
    }
    if (level.includes("+") && level !== "+") return fail("'+' must occupy a whole level");
  }
  return OK;
}
