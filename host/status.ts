/**
 * Status codes of the module (assembly/status.ts, boards/ABI.md "Status codes") as stable
 * string codes, and the error every failure of the host API is reported with.
 *
 * @example
 * try {
 *   await client.publish("a/+", "x");
 * } catch (error) {
 *   if (error instanceof WasmqttError && error.code === "INVALID_TOPIC") console.error(error.message);
 * }
 */

/** Every status the module returns, by its stable name. Never renumbered. */
export const Status = {
  OK: 0,
  MALFORMED_PACKET: -1,
  PROTOCOL_ERROR: -2,
  PACKET_TOO_LARGE: -3,
  OUTBOX_FULL: -4,
  INVALID_TOPIC: -5,
  INVALID_FILTER: -6,
  INVALID_QOS: -7,
  NOT_CONNECTED: -8,
  TX_FULL: -9,
  NO_PACKET_ID: -10,
  SUBSCRIPTIONS_FULL: -11,
  INVALID_ARGUMENT: -12,
  INVALID_STATE: -13,
  CONNACK_UNACCEPTABLE_PROTOCOL_VERSION: -21,
  CONNACK_IDENTIFIER_REJECTED: -22,
  CONNACK_SERVER_UNAVAILABLE: -23,
  CONNACK_BAD_USERNAME_OR_PASSWORD: -24,
  CONNACK_NOT_AUTHORIZED: -25,
  KEEPALIVE_TIMEOUT: -30,
  CONNECT_TIMEOUT: -31,
  CONNECTION_LOST: -32,
  CONNECTION_REFUSED: -33,
  CLIENT_STOPPED: -34,
  DISCONNECTED: -35,
  CONNACK_REFUSED: -36,
  QOS_NOT_SUPPORTED: -37,
  RETAIN_NOT_SUPPORTED: -38,
  PERSIST_CORRUPT: -50,
  PERSIST_VERSION: -51,
  PERSIST_PROFILE: -52,
} as const;

/** The name of a status the module defines. */
export type StatusName = keyof typeof Status;

/**
 * Codes of failures that happen in the host, not the module: `MODULE_LOAD_FAILED` (the
 * `.wasm` of the profile is missing, invalid, or lacks an export of boards/ABI.md);
 * `HOST_NOT_FOUND` (the broker's host name does not resolve: ENOTFOUND, EAI_AGAIN; the
 * module saw CONNECTION_REFUSED, which is the error's `status`); `PUBLISH_REFUSED` (MQTT 5: the
 * broker answered a PUBLISH with a PUBACK or PUBREC Reason Code ≥ 0x80, the error's `reasonCode`);
 * `PERSIST_SAVE_FAILED` (the `persist` store could not write the session, the error's `cause`).
 * The TLS codes come with the status CONNECTION_REFUSED, the handshake having failed before
 * the connection counted as open: `TLS_CERT_INVALID` (the broker's certificate chain does not
 * lead to a trusted CA), `TLS_CERT_EXPIRED` (outside its validity period),
 * `TLS_HOSTNAME_MISMATCH` (not issued for the host name connected to, or `servername`),
 * `TLS_HANDSHAKE_FAILED` (anything else: no TLS on that port, no common protocol version or
 * cipher, a refused client certificate).
 */
export type HostErrorCode =
  | "MODULE_LOAD_FAILED"
  | "HOST_NOT_FOUND"
  | "PUBLISH_REFUSED"
  | "PERSIST_SAVE_FAILED"
  | "TLS_CERT_INVALID"
  | "TLS_CERT_EXPIRED"
  | "TLS_HOSTNAME_MISMATCH"
  | "TLS_HANDSHAKE_FAILED";

/**
 * The `code` of a {@link WasmqttError}: a {@link StatusName}, a {@link HostErrorCode}, or for
 * a number this host does not know, `CONNACK_REFUSED_<n>` (a CONNACK return code beyond 5)
 * or `STATUS_<n>`.
 */
export type ErrorCode = StatusName | HostErrorCode | `CONNACK_REFUSED_${number}` | `STATUS_${number}`;

/** CONNACK refusals are CONNACK_REFUSED_BASE − return code (assembly/status.ts). */
const CONNACK_REFUSED_BASE = -20;

const NAMES = new Map<number, StatusName>(Object.entries(Status).map(([name, value]) => [value, name as StatusName]));

const DESCRIPTIONS: Record<StatusName, string> = {
  OK: "ok",
  MALFORMED_PACKET: "the broker sent bytes that are not a valid MQTT packet",
  PROTOCOL_ERROR: "the broker sent a packet that is not allowed here",
  PACKET_TOO_LARGE: "a packet does not fit the buffer it must live in",
  OUTBOX_FULL: "the outbox has no room for this PUBLISH; nothing was queued",
  INVALID_TOPIC: "not a valid topic name",
  INVALID_FILTER: "not a valid topic filter",
  INVALID_QOS: "QoS must be 0, 1 or 2",
  NOT_CONNECTED: "the call needs a live connection",
  TX_FULL: "the transmit buffer is full",
  NO_PACKET_ID: "every packet id is in use",
  SUBSCRIPTIONS_FULL: "the subscription table is full",
  INVALID_ARGUMENT: "an argument is out of range",
  INVALID_STATE: "the call is not allowed in the client's current state",
  CONNACK_UNACCEPTABLE_PROTOCOL_VERSION: "the broker refused the connection: unacceptable protocol version",
  CONNACK_IDENTIFIER_REJECTED: "the broker refused the connection: client identifier rejected",
  CONNACK_SERVER_UNAVAILABLE: "the broker refused the connection: server unavailable",
  CONNACK_BAD_USERNAME_OR_PASSWORD: "the broker refused the connection: bad user name or password",
  CONNACK_NOT_AUTHORIZED: "the broker refused the connection: not authorized",
  KEEPALIVE_TIMEOUT: "no answer from the broker within the keepalive timeout",
  CONNECT_TIMEOUT: "the connection or its CONNACK took longer than the connect timeout",
  CONNECTION_LOST: "the connection was closed",
  CONNECTION_REFUSED: "the connection could not be opened",
  CLIENT_STOPPED: "the client was stopped",
  DISCONNECTED: "the broker ended the connection with a DISCONNECT",
  CONNACK_REFUSED: "the broker refused the connection",
  QOS_NOT_SUPPORTED: "the QoS is above the broker's Maximum QoS",
  RETAIN_NOT_SUPPORTED: "the broker does not support retained messages",
  PERSIST_CORRUPT: "the saved session is damaged or not a saved session; the client started empty",
  PERSIST_VERSION: "the saved session comes from another build of the module; the client started empty",
  PERSIST_PROFILE: "the saved session comes from another board profile; the client started empty",
};

/**
 * The stable string code of a module status.
 *
 * @example statusName(-4) // "OUTBOX_FULL"; statusName(-27) // "CONNACK_REFUSED_7"
 */
export function statusName(status: number): StatusName | `CONNACK_REFUSED_${number}` | `STATUS_${number}` {
  const name = NAMES.get(status);
  if (name !== undefined) return name;
  const returnCode = CONNACK_REFUSED_BASE - status;
  if (Number.isInteger(status) && returnCode >= 1 && returnCode <= 9) return `CONNACK_REFUSED_${returnCode}`;
  return `STATUS_${status}`;
}

/** A one-line English description of a status (for error messages). */
export function describeStatus(status: number): string {
  const name = NAMES.get(status);
  if (name !== undefined) return DESCRIPTIONS[name];
  const code = statusName(status);
  return code.startsWith("CONNACK_") ? `the broker refused the connection (return code ${CONNACK_REFUSED_BASE - status})` : `unknown status ${status}`;
}

/** Every failure of the wasmqtt host API: a message for people and a stable `code` to switch on. */
export class WasmqttError extends Error {
  /** Stable string code: the module's status name ("OUTBOX_FULL", "CONNACK_NOT_AUTHORIZED", …). */
  readonly code: ErrorCode;
  /** The module's numeric status, when the error comes from one. */
  readonly status: number | undefined;
  /** MQTT 5: the Reason Code behind it (a CONNACK, ack or DISCONNECT's, or the one the client disconnected with). */
  readonly reasonCode: number | undefined;
  /** MQTT 5: the properties of the packet behind it (a server DISCONNECT's, a refusing ack's), MQTT.js's names. */
  readonly properties: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { status?: number; cause?: unknown; reasonCode?: number; properties?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "WasmqttError";
    this.code = code;
    this.status = options.status ?? (code in Status ? Status[code as StatusName] : undefined);
    this.reasonCode = options.reasonCode;
    this.properties = options.properties;
  }

  /** An error for a module status; `message` defaults to the status's description. */
  static fromStatus(status: number, message?: string, cause?: unknown, reasonCode?: number): WasmqttError {
    return new WasmqttError(statusName(status), message ?? describeStatus(status), { status, cause, reasonCode });
  }
}
