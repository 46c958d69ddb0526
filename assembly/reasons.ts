// MQTT 5.0 Reason Codes (MQTT 5.0 §2.4, Table 2-6): the one-byte result a CONNACK,
// PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT or AUTH carries, and the
// code the MQTT 5 decoders (properties.ts, codec5.ts) return: REASON_SUCCESS (0) when a
// packet is valid, else the Reason Code to DISCONNECT with (§4.13). These are wire values,
// not module statuses (status.ts); a value below 0x80 means success (§2.4).
import { CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT } from "./codec";

/** AUTH, the control packet type MQTT 5.0 adds (§2.1.2). */
export const AUTH: u8 = 15;

export const REASON_SUCCESS: u8 = 0x00; // also Normal disconnection, Granted QoS 0
export const REASON_NORMAL_DISCONNECTION: u8 = 0x00;
export const REASON_GRANTED_QOS_0: u8 = 0x00;
export const REASON_GRANTED_QOS_1: u8 = 0x01;
export const REASON_GRANTED_QOS_2: u8 = 0x02;
export const REASON_DISCONNECT_WITH_WILL_MESSAGE: u8 = 0x04;
export const REASON_NO_MATCHING_SUBSCRIBERS: u8 = 0x10;
export const REASON_NO_SUBSCRIPTION_EXISTED: u8 = 0x11;
export const REASON_CONTINUE_AUTHENTICATION: u8 = 0x18;
export const REASON_RE_AUTHENTICATE: u8 = 0x19;
export const REASON_UNSPECIFIED_ERROR: u8 = 0x80;
export const REASON_MALFORMED_PACKET: u8 = 0x81;
export const REASON_PROTOCOL_ERROR: u8 = 0x82;
export const REASON_IMPLEMENTATION_SPECIFIC_ERROR: u8 = 0x83;
export const REASON_UNSUPPORTED_PROTOCOL_VERSION: u8 = 0x84;
export const REASON_CLIENT_IDENTIFIER_NOT_VALID: u8 = 0x85;
export const REASON_BAD_USER_NAME_OR_PASSWORD: u8 = 0x86;
export const REASON_NOT_AUTHORIZED: u8 = 0x87;
export const REASON_SERVER_UNAVAILABLE: u8 = 0x88;
export const REASON_SERVER_BUSY: u8 = 0x89;
export const REASON_BANNED: u8 = 0x8a;
export const REASON_SERVER_SHUTTING_DOWN: u8 = 0x8b;
export const REASON_BAD_AUTHENTICATION_METHOD: u8 = 0x8c;
export const REASON_KEEP_ALIVE_TIMEOUT: u8 = 0x8d;
export const REASON_SESSION_TAKEN_OVER: u8 = 0x8e;
export const REASON_TOPIC_FILTER_INVALID: u8 = 0x8f;
export const REASON_TOPIC_NAME_INVALID: u8 = 0x90;
export const REASON_PACKET_IDENTIFIER_IN_USE: u8 = 0x91;
export const REASON_PACKET_IDENTIFIER_NOT_FOUND: u8 = 0x92;
export const REASON_RECEIVE_MAXIMUM_EXCEEDED: u8 = 0x93;
export const REASON_TOPIC_ALIAS_INVALID: u8 = 0x94;
export const REASON_PACKET_TOO_LARGE: u8 = 0x95;
export const REASON_MESSAGE_RATE_TOO_HIGH: u8 = 0x96;
export const REASON_QUOTA_EXCEEDED: u8 = 0x97;
export const REASON_ADMINISTRATIVE_ACTION: u8 = 0x98;
export const REASON_PAYLOAD_FORMAT_INVALID: u8 = 0x99;
export const REASON_RETAIN_NOT_SUPPORTED: u8 = 0x9a;
export const REASON_QOS_NOT_SUPPORTED: u8 = 0x9b;
export const REASON_USE_ANOTHER_SERVER: u8 = 0x9c;
export const REASON_SERVER_MOVED: u8 = 0x9d;
export const REASON_SHARED_SUBSCRIPTIONS_NOT_SUPPORTED: u8 = 0x9e;
export const REASON_CONNECTION_RATE_EXCEEDED: u8 = 0x9f;
export const REASON_MAXIMUM_CONNECT_TIME: u8 = 0xa0;
export const REASON_SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED: u8 = 0xa1;
export const REASON_WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED: u8 = 0xa2;

/** True when code reports a failure: every Reason Code of 0x80 or more (§2.4). */
// @ts-ignore: decorator
@inline export function isErrorReason(code: u32): bool {
  return code >= 0x80;
}

// Which packets may carry each Reason Code (Table 2-6, "MQTT Packets" column): a bit per
// control packet type, bit (1 << type).
// @ts-ignore: decorator
@inline const IN_CONNACK: u32 = 1 << CONNACK;
// @ts-ignore: decorator
@inline const IN_PUBACK_PUBREC: u32 = (1 << PUBACK) | (1 << PUBREC);
// @ts-ignore: decorator
@inline const IN_PUBREL_PUBCOMP: u32 = (1 << PUBREL) | (1 << PUBCOMP);
// @ts-ignore: decorator
@inline const IN_SUBACK: u32 = 1 << SUBACK;
// @ts-ignore: decorator
@inline const IN_UNSUBACK: u32 = 1 << UNSUBACK;
// @ts-ignore: decorator
@inline const IN_DISCONNECT: u32 = 1 << DISCONNECT;
// @ts-ignore: decorator
@inline const IN_AUTH: u32 = 1 << AUTH;
/** Unspecified error, Implementation specific error, Not authorized: the general refusals. */
// @ts-ignore: decorator
@inline const IN_REFUSALS: u32 = IN_CONNACK | IN_PUBACK_PUBREC | IN_SUBACK | IN_UNSUBACK | IN_DISCONNECT;

/** Table 2-6, a row per Reason Code: the code in the low byte, its packet mask above it. */
const REASON_TABLE = memory.data<u32>([
  0x00 | ((IN_CONNACK | IN_PUBACK_PUBREC | IN_PUBREL_PUBCOMP | IN_SUBACK | IN_UNSUBACK | IN_DISCONNECT | IN_AUTH) << 8),
  0x01 | (IN_SUBACK << 8),
  0x02 | (IN_SUBACK << 8),
  0x04 | (IN_DISCONNECT << 8),
  0x10 | (IN_PUBACK_PUBREC << 8),
  0x11 | (IN_UNSUBACK << 8),
  0x18 | (IN_AUTH << 8),
  0x19 | (IN_AUTH << 8),
  0x80 | (IN_REFUSALS << 8),
  0x81 | ((IN_CONNACK | IN_DISCONNECT) << 8),
  0x82 | ((IN_CONNACK | IN_DISCONNECT) << 8),
  0x83 | (IN_REFUSALS << 8),
  0x84 | (IN_CONNACK << 8),
  0x85 | (IN_CONNACK << 8),
  0x86 | (IN_CONNACK << 8),
  0x87 | (IN_REFUSALS << 8),
  0x88 | (IN_CONNACK << 8),
  0x89 | ((IN_CONNACK | IN_DISCONNECT) << 8),
  0x8a | (IN_CONNACK << 8),
  0x8b | (IN_DISCONNECT << 8),
  0x8c | ((IN_CONNACK | IN_DISCONNECT) << 8),
  0x8d | (IN_DISCONNECT << 8),
  0x8e | (IN_DISCONNECT << 8),
  0x8f | ((IN_SUBACK | IN_UNSUBACK | IN_DISCONNECT) << 8),
  0x90 | ((IN_CONNACK | IN_PUBACK_PUBREC | IN_DISCONNECT) << 8),
  0x91 | ((IN_PUBACK_PUBREC | IN_SUBACK | IN_UNSUBACK) << 8),
  0x92 | (IN_PUBREL_PUBCOMP << 8),
  0x93 | (IN_DISCONNECT << 8),
  0x94 | (IN_DISCONNECT << 8),
  0x95 | ((IN_CONNACK | IN_DISCONNECT) << 8),
  0x96 | (IN_DISCONNECT << 8),
  0x97 | ((IN_CONNACK | IN_PUBACK_PUBREC | IN_SUBACK | IN_DISCONNECT) << 8),
  0x98 | (IN_DISCONNECT << 8),
  0x99 | ((IN_CONNACK | IN_PUBACK_PUBREC | IN_DISCONNECT) << 8),
  0x9a | ((IN_CONNACK | IN_DISCONNECT) << 8),
  0x9b | ((IN_CONNACK | IN_DISCONNECT) << 8),
  0x9c | ((IN_CONNACK | IN_DISCONNECT) << 8),
  0x9d | ((IN_CONNACK | IN_DISCONNECT) << 8),
  0x9e | ((IN_SUBACK | IN_DISCONNECT) << 8),
  0x9f | ((IN_CONNACK | IN_DISCONNECT) << 8),
  0xa0 | (IN_DISCONNECT << 8),
  0xa1 | ((IN_SUBACK | IN_DISCONNECT) << 8),
  0xa2 | ((IN_SUBACK | IN_DISCONNECT) << 8),
]);
// @ts-ignore: decorator
@inline const REASON_ROWS: u32 = 43;

/**
 * True when a packet of this type may carry this Reason Code (Table 2-6). A sender MUST
 * use only its packet's codes (e.g. MQTT 5.0 [MQTT-3.2.2-8], [MQTT-3.4.2-1]); the
 * decoders treat any other code as a Protocol Error (§4.13.1).
 */
export function isReasonAllowed(packetType: u32, code: u32): bool {
  for (let row: u32 = 0; row < REASON_ROWS; row++) {
    let entry = load<u32>(REASON_TABLE + (row << 2));
    if ((entry & 0xff) != code) continue;
    return ((entry >> (8 + packetType)) & 1) != 0;
  }
  return false;
}
