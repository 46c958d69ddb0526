/**
 * Readable errors for the host API: once the module has refused an argument (a status
 * from `publish`, `checkTopicName`, `configure`, …), these say which value was wrong and
 * why, naming the value. They only choose words; the module alone decides validity.
 *
 * @example
 * topicError("a/+", 256) // WasmqttError INVALID_TOPIC: topic "a/+" contains a wildcard ("+"); PUBLISH topics cannot
 */
import { Status, WasmqttError, describeStatus, statusName } from "./status.ts";

/** A value for a message: JSON-quoted, cut after 80 characters. */
export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (value === undefined) return "undefined";
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  return typeof value;
}

/** INVALID_ARGUMENT with `message`. */
export function argumentError(message: string): WasmqttError {
  return new WasmqttError("INVALID_ARGUMENT", message, { status: Status.INVALID_ARGUMENT });
}

/**
 * INVALID_ARGUMENT for an option `name` that is not one of `known`, naming the closest
 * known one: a case-insensitive match first, else the nearest within an edit distance of
 * a third of the name (at least 2). `where` prefixes the option's path ("reconnect.").
 *
 * @example unknownOptionError("clientID", ["clientId", "clean"]) // …unknown option `clientID`; did you mean `clientId`?
 */
function unknownOptionError(name: string, known: readonly string[], where = ""): WasmqttError {
  const lower = name.toLowerCase();
  let best = known.find((candidate) => candidate.toLowerCase() === lower);
  if (best === undefined) {
    let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
    for (const candidate of known) {
      const distance = editDistance(lower, candidate.toLowerCase());
      if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
    }
  }
  const hint = best === undefined ? `known options: ${known.map((candidate) => `\`${where}${candidate}\``).join(", ")}` : `did you mean \`${where}${best}\`?`;
  return argumentError(`unknown option \`${where}${name}\`; ${hint}`);
}

/** Throws {@link unknownOptionError} for the first key of `object` that is not in `known`. */
export function checkKnownOptions(object: object, known: readonly string[], where = ""): void {
  // for…in with hasOwn: Object.keys' names without its array, as publish() checks every call's options
  for (const name in object) {
    if (Object.hasOwn(object, name) && !known.includes(name)) throw unknownOptionError(name, known, where);
  }
}

/** Levenshtein distance: insertions, deletions and substitutions turning `a` into `b`. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** The index of the first UTF-16 code unit of `text` that is half a surrogate pair, or -1. */
function loneSurrogateIndex(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xd800 || unit > 0xdfff) continue;
    const next = text.charCodeAt(i + 1);
    if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
    else return i;
  }
  return -1;
}

/**
 * Throws INVALID_ARGUMENT when `field` is not a string or holds a lone surrogate, which
 * UTF-8 cannot encode (it would silently become U+FFFD). `field` names it in the message.
 */
export function checkMqttString(value: unknown, field: string): asserts value is string {
  if (typeof value !== "string") throw argumentError(`${field} must be a string (got ${show(value)})`);
  if ((value as string & { isWellFormed(): boolean }).isWellFormed()) return; // ES2024, in Node 20
  const index = loneSurrogateIndex(value);
  if (index >= 0) {
    throw argumentError(`${field} contains a lone surrogate at index ${index}; MQTT strings are UTF-8 (MQTT 3.1.1 §1.5.3)`);
  }
}

/** Throws INVALID_ARGUMENT unless `value` is true or false (`field` names it). */
export function checkBoolean(value: unknown, field: string): asserts value is boolean | undefined {
  if (value !== undefined && typeof value !== "boolean") throw argumentError(`${field} must be true or false (got ${show(value)})`);
}

/** Throws INVALID_ARGUMENT unless `value` is undefined or a plain options object (`what` names the argument). */
export function checkOptionsObject(value: unknown, what: string): asserts value is object | undefined {
  if (value !== undefined && (value === null || typeof value !== "object" || Array.isArray(value))) {
    throw argumentError(`${what} must be an object (got ${show(value)})`);
  }
}

/** The module said INVALID_TOPIC for a PUBLISH (or will) topic name: which rule it breaks. */
export function topicError(topic: string, maxTopicLength: number, what = "topic"): WasmqttError {
  const bytes = utf8Length(topic);
  let why: string;
  if (topic.length === 0) why = "is empty; a topic name needs at least one character";
  else if (topic.includes("+") || topic.includes("#")) why = `contains a wildcard ("${topic.includes("+") ? "+" : "#"}"); PUBLISH topics cannot`;
  else if (topic.includes("\u0000")) why = "contains U+0000, which MQTT does not allow";
  else if (bytes > maxTopicLength) why = `is ${bytes} bytes; this profile allows at most ${maxTopicLength}`;
  else why = "is not a valid topic name";
  return new WasmqttError("INVALID_TOPIC", `${what} ${show(topic)} ${why}`, { status: Status.INVALID_TOPIC });
}

/** The module said INVALID_FILTER for a topic filter: which rule it breaks. */
export function filterError(filter: string, maxTopicLength: number): WasmqttError {
  const bytes = utf8Length(filter);
  const levels = filter.split("/");
  let why: string;
  if (filter.length === 0) why = "is empty; a topic filter needs at least one character";
  else if (filter.includes("\u0000")) why = "contains U+0000, which MQTT does not allow";
  else if (levels.some((level, index) => level.includes("#") && (level !== "#" || index !== levels.length - 1))) {
    why = 'uses "#" other than as the whole last level (e.g. "a/#")';
  } else if (levels.some((level) => level.includes("+") && level !== "+")) why = 'uses "+" other than as a whole level (e.g. "a/+/c")';
  else if (bytes > maxTopicLength) why = `is ${bytes} bytes; this profile allows at most ${maxTopicLength}`;
  else why = "is not a valid topic filter";
  return new WasmqttError("INVALID_FILTER", `topic filter ${show(filter)} ${why}`, { status: Status.INVALID_FILTER });
}

/** A QoS that is not 0, 1 or 2 (`what` names it: "qos", "will qos"; `subject` says whose). */
export function qosError(qos: unknown, what = "qos", subject?: string): WasmqttError {
  const whose = subject === undefined ? "" : ` for ${subject}`;
  return new WasmqttError("INVALID_QOS", `${what} ${show(qos)}${whose} is not 0, 1 or 2`, { status: Status.INVALID_QOS });
}

/** The UTF-8 byte length of a string. */
function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** A status from the module with a sentence of context in front of its description. */
export function statusError(status: number, context: string): WasmqttError {
  return WasmqttError.fromStatus(status, `${context}: ${describeStatus(status)} (${statusName(status)})`);
}
