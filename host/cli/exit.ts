/**
 * Exit statuses and error messages of the CLI, chosen to match mosquitto_pub /
 * mosquitto_sub so scripts written for them keep working:
 *
 * | status | when |
 * |---|---|
 * | 0 | success (sub: -C count reached, -E, or interrupted with Ctrl-C) |
 * | 1 | usage error, connection failure, any other runtime error |
 * | 1–5 | the broker refused the connection: the CONNACK return code (MQTT 3.1.1 §3.2.2.3) |
 * | 128–162 | MQTT 5: the broker refused the connection: the CONNACK Reason Code (MQTT 5.0 §3.2.2.2) |
 * | 27 | sub -W timed out (libmosquitto's MOSQ_ERR_TIMEOUT) |
 *
 * @example
 * try { … } catch (error) { printError(error); return exitStatusFor(error); }
 */

/** Success. */
export const EXIT_OK = 0;
/** Usage errors and runtime errors without a more specific status. */
export const EXIT_ERROR = 1;
/** `sub -W` ran out of time before -C messages arrived (MOSQ_ERR_TIMEOUT). */
export const EXIT_TIMEOUT = 27;

/** CONNACK refusals are status CONNACK_REFUSED_BASE − return code (boards/ABI.md). */
const CONNACK_REFUSED_BASE = -20;

/** The stable `code` of a host error, if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * The CONNACK return code of a refused connection (CONNACK_NOT_AUTHORIZED → 5; MQTT 5: its Reason Code).
 *
 * @param error anything thrown or rejected
 * @returns 1–255 for a WasmqttError with a CONNACK_* code, otherwise undefined
 */
export function connackReturnCode(error: unknown): number | undefined {
  const { status, reasonCode } = (error ?? {}) as { status?: unknown; reasonCode?: unknown };
  if (!errorCode(error)?.startsWith("CONNACK_") || typeof status !== "number") return undefined;
  if (typeof reasonCode === "number") return reasonCode; // MQTT 5: the CONNACK's Reason Code (0x80–0xa2)
  const returnCode = CONNACK_REFUSED_BASE - status;
  return returnCode >= 1 && returnCode <= 255 ? returnCode : undefined;
}

/**
 * The exit status for an error.
 *
 * @param error anything thrown or rejected
 * @returns the CONNACK return code for a refused connection, otherwise 1
 */
export function exitStatusFor(error: unknown): number {
  return connackReturnCode(error) ?? EXIT_ERROR;
}

/**
 * A one-line description of an error for stderr: the host's message, and its stable code
 * when the message does not already name it.
 *
 * @param error anything thrown or rejected
 * @returns e.g. 'topic "a/+" contains a wildcard ("+"); PUBLISH topics cannot (INVALID_TOPIC)'
 */
export function describeError(error: unknown): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code === undefined || message.includes(code)) return message;
  return `${message} (${code})`;
}

/**
 * Prints `Error: …` to stderr, unless `quiet`.
 *
 * @param error anything thrown or rejected
 * @param quiet true for --quiet
 */
export function printError(error: unknown, quiet = false): void {
  if (!quiet) process.stderr.write(`Error: ${describeError(error)}\n`);
}
