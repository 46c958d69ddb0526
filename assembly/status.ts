// Status codes: every fallible function in the module returns one of these (0 or a
// negative value). host/status.ts mirrors them as stable string codes; boards/ABI.md
// lists them. Never renumber: a host built against one value must keep meaning it.

export const OK: i32 = 0;
/** The bytes do not form a valid MQTT packet (bad length, flags, encoding). */
export const MALFORMED_PACKET: i32 = -1;
/** A well-formed packet that is not allowed here (wrong state, unknown packet id). */
export const PROTOCOL_ERROR: i32 = -2;
/** A packet does not fit the buffer it must live in (receive buffer, tx ring, outbox). */
export const PACKET_TOO_LARGE: i32 = -3;
/** The outbox has no room for this PUBLISH; nothing was queued. */
export const OUTBOX_FULL: i32 = -4;
/** Not a valid topic name (empty, wildcard, U+0000, bad UTF-8, too long). */
export const INVALID_TOPIC: i32 = -5;
/** Not a valid topic filter (misplaced wildcard, U+0000, bad UTF-8, too long). */
export const INVALID_FILTER: i32 = -6;
/** QoS outside 0..2. */
export const INVALID_QOS: i32 = -7;
/** The call needs a live connection. */
export const NOT_CONNECTED: i32 = -8;
/** The transmit ring cannot take the packet now; try again after the next tick. */
export const TX_FULL: i32 = -9;
/** Every packet id is in use. */
export const NO_PACKET_ID: i32 = -10;
/** The subscription table is full. */
export const SUBSCRIPTIONS_FULL: i32 = -11;
/** An argument is out of range (length, count, flags). */
export const INVALID_ARGUMENT: i32 = -12;
/** The call is not allowed in the client's current state. */
export const INVALID_STATE: i32 = -13;
// -14 was RECEIVE_MAXIMUM_EXCEEDED, no longer returned (a full inbound QoS 2 table is
// handled, boards/ABI.md "Inbound QoS 2"): retired, never to be reused.
/** CONNACK refusals are CONNACK_REFUSED_BASE - returnCode (-21 .. -25). */
export const CONNACK_REFUSED_BASE: i32 = -20;
/** No PINGRESP (or any packet) within the keepalive timeout. */
export const KEEPALIVE_TIMEOUT: i32 = -30;
/** The connection or its CONNACK took longer than the connect timeout. */
export const CONNECT_TIMEOUT: i32 = -31;
/** The network reported the connection closed. */
export const CONNECTION_LOST: i32 = -32;
/** The network could not open a connection. */
export const CONNECTION_REFUSED: i32 = -33;
/** The client was stopped by its user. */
export const CLIENT_STOPPED: i32 = -34;
/** MQTT 5: the broker ended the connection with a DISCONNECT; its Reason Code is the event's arg. */
export const DISCONNECTED: i32 = -35;
/** MQTT 5: a CONNACK refusal with no MQTT 3.1.1 return code of the same meaning; its Reason Code is the event's arg. */
export const CONNACK_REFUSED: i32 = -36;
/** MQTT 5: the QoS is above the broker's Maximum QoS (MQTT 5.0 §3.2.2.3.4); nothing was queued. */
export const QOS_NOT_SUPPORTED: i32 = -37;
/** MQTT 5: the broker has no retained messages (Retain Available 0, MQTT 5.0 §3.2.2.3.5); nothing was queued. */
export const RETAIN_NOT_SUPPORTED: i32 = -38;
/** The saved session is not a save image of this module: bad magic, CRC-32, or tables (boards/ABI.md, "Persistent state"); the client starts empty. */
export const PERSIST_CORRUPT: i32 = -50;
/** The saved session has another layout version or length (another build); the client starts empty. */
export const PERSIST_VERSION: i32 = -51;
/** The saved session comes from another build profile; the client starts empty. */
export const PERSIST_PROFILE: i32 = -52;
