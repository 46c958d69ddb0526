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

/** The module said INVALID_TOPIC for a PUBLISH (or will) topic name: which rule it breaks. */
export function topicError(topic: string, maxTopicLength: number, what = "topic"): WasmqttError {
  const bytes = Buffer.byteLength(topic, "utf8");
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
  const bytes = Buffer.byteLength(filter, "utf8");
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

/** A status from the module with a sentence of context in front of its description. */
export function statusError(status: number, context: string): WasmqttError {
  return WasmqttError.fromStatus(status, `${context}: ${describeStatus(status)} (${statusName(status)})`);
}
