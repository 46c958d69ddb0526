// Specs for assembly/properties.ts: a property block for every packet type that carries
// properties (MQTT 5.0 §2.2.2, Table 2-4), each holding every property that type allows,
// decoded from annotated bytes and encoded back to them; the table's packet masks
// checked property by property against Table 2-4; and each malformed class with the
// Reason Code the decoder must return.
import {
  CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT,
} from "../../assembly/codec";
import {
  AUTH, REASON_SUCCESS, REASON_MALFORMED_PACKET, REASON_PROTOCOL_ERROR, REASON_TOPIC_ALIAS_INVALID,
} from "../../assembly/reasons";
import {
  PAYLOAD_FORMAT_INDICATOR, MESSAGE_EXPIRY_INTERVAL, CONTENT_TYPE, RESPONSE_TOPIC, CORRELATION_DATA, SUBSCRIPTION_IDENTIFIER,
  SESSION_EXPIRY_INTERVAL, ASSIGNED_CLIENT_IDENTIFIER, SERVER_KEEP_ALIVE, AUTHENTICATION_METHOD, AUTHENTICATION_DATA,
  REQUEST_PROBLEM_INFORMATION, WILL_DELAY_INTERVAL, REQUEST_RESPONSE_INFORMATION, RESPONSE_INFORMATION, SERVER_REFERENCE,
  REASON_STRING, RECEIVE_MAXIMUM, TOPIC_ALIAS_MAXIMUM, TOPIC_ALIAS, MAXIMUM_QOS, RETAIN_AVAILABLE, USER_PROPERTY,
  MAXIMUM_PACKET_SIZE, WILDCARD_SUBSCRIPTION_AVAILABLE, SUBSCRIPTION_IDENTIFIERS_AVAILABLE, SHARED_SUBSCRIPTION_AVAILABLE,
  WILL_PROPERTIES, Properties, properties, decodeProperties, hasProperty, nextUserProperty, nextSubscriptionIdentifier,
  propertiesLength, writePropertyLength, writeProperties, writeByteProperty, writeTwoByteProperty, writeFourByteProperty,
  variableBytePropertySize, writeVariableByteProperty, stringPropertySize, writeStringProperty, userPropertySize, writeUserProperty,
  readU32, writeU32,
} from "../../assembly/properties";
import { place, repeat, bytesAt, resetFixtures } from "./support/bytes";

/** Encoder output; filled with GUARD before each encoding to catch writes past the end. */
const OUT_CAPACITY: u32 = 512;
const out = memory.data(OUT_CAPACITY);
const GUARD: u8 = 0xee;

function clearOut(): void {
  memory.fill(out, GUARD, OUT_CAPACITY);
}

/** Fills the decode results with a pattern no decoder writes, so stale values cannot pass. */
function clearProperties(): void {
  memory.fill(changetype<usize>(properties), 0xaa, offsetof<Properties>());
}

beforeEach(resetFixtures);

// ---- Table 2-4, restated for the specs -----------------------------------------

const BYTE = 1;
const TWO_BYTE = 2;
const FOUR_BYTE = 3;
const VARIABLE_BYTE = 4;
const STRING = 5;
const BINARY = 6;
const PAIR = 7;

/** The data type of each property (Table 2-4, "Type"). */
function typeOf(id: u8): i32 {
  switch (id) {
    case PAYLOAD_FORMAT_INDICATOR: case REQUEST_PROBLEM_INFORMATION: case REQUEST_RESPONSE_INFORMATION: case MAXIMUM_QOS:
    case RETAIN_AVAILABLE: case WILDCARD_SUBSCRIPTION_AVAILABLE: case SUBSCRIPTION_IDENTIFIERS_AVAILABLE: case SHARED_SUBSCRIPTION_AVAILABLE:
      return BYTE;
    case SERVER_KEEP_ALIVE: case RECEIVE_MAXIMUM: case TOPIC_ALIAS_MAXIMUM: case TOPIC_ALIAS:
      return TWO_BYTE;
    case MESSAGE_EXPIRY_INTERVAL: case SESSION_EXPIRY_INTERVAL: case WILL_DELAY_INTERVAL: case MAXIMUM_PACKET_SIZE:
      return FOUR_BYTE;
    case SUBSCRIPTION_IDENTIFIER:
      return VARIABLE_BYTE;
    case CORRELATION_DATA: case AUTHENTICATION_DATA:
      return BINARY;
    case USER_PROPERTY:
      return PAIR;
  }
  return STRING;
}

function bit(type: u32): u32 {
  return 1 << type;
}

const ACK_TYPES: u32 = bit(PUBACK) | bit(PUBREC) | bit(PUBREL) | bit(PUBCOMP);

/** The packets that may carry each property (Table 2-4, "Packet / Will Properties"). */
function packetsOf(id: u8): u32 {
  switch (id) {
    case PAYLOAD_FORMAT_INDICATOR: case MESSAGE_EXPIRY_INTERVAL: case CONTENT_TYPE: case RESPONSE_TOPIC: case CORRELATION_DATA:
      return bit(PUBLISH) | bit(WILL_PROPERTIES);
    case SUBSCRIPTION_IDENTIFIER: return bit(PUBLISH) | bit(SUBSCRIBE);
    case SESSION_EXPIRY_INTERVAL: return bit(CONNECT) | bit(CONNACK) | bit(DISCONNECT);
    case ASSIGNED_CLIENT_IDENTIFIER: case SERVER_KEEP_ALIVE: case RESPONSE_INFORMATION: case MAXIMUM_QOS: case RETAIN_AVAILABLE:
    case WILDCARD_SUBSCRIPTION_AVAILABLE: case SUBSCRIPTION_IDENTIFIERS_AVAILABLE: case SHARED_SUBSCRIPTION_AVAILABLE:
      return bit(CONNACK);
    case AUTHENTICATION_METHOD: case AUTHENTICATION_DATA: return bit(CONNECT) | bit(CONNACK) | bit(AUTH);
    case REQUEST_PROBLEM_INFORMATION: case REQUEST_RESPONSE_INFORMATION: return bit(CONNECT);
    case WILL_DELAY_INTERVAL: return bit(WILL_PROPERTIES);
    case SERVER_REFERENCE: return bit(CONNACK) | bit(DISCONNECT);
    case REASON_STRING: return bit(CONNACK) | ACK_TYPES | bit(SUBACK) | bit(UNSUBACK) | bit(DISCONNECT) | bit(AUTH);
    case RECEIVE_MAXIMUM: case TOPIC_ALIAS_MAXIMUM: case MAXIMUM_PACKET_SIZE: return bit(CONNECT) | bit(CONNACK);
    case TOPIC_ALIAS: return bit(PUBLISH);
    case USER_PROPERTY:
      return bit(CONNECT) | bit(CONNACK) | bit(PUBLISH) | bit(WILL_PROPERTIES) | ACK_TYPES | bit(SUBSCRIBE) | bit(SUBACK)
        | bit(UNSUBSCRIBE) | bit(UNSUBACK) | bit(DISCONNECT) | bit(AUTH);
  }
  return 0;
}

const IDENTIFIERS: u8[] = [
  PAYLOAD_FORMAT_INDICATOR, MESSAGE_EXPIRY_INTERVAL, CONTENT_TYPE, RESPONSE_TOPIC, CORRELATION_DATA, SUBSCRIPTION_IDENTIFIER,
  SESSION_EXPIRY_INTERVAL, ASSIGNED_CLIENT_IDENTIFIER, SERVER_KEEP_ALIVE, AUTHENTICATION_METHOD, AUTHENTICATION_DATA,
  REQUEST_PROBLEM_INFORMATION, WILL_DELAY_INTERVAL, REQUEST_RESPONSE_INFORMATION, RESPONSE_INFORMATION, SERVER_REFERENCE,
  REASON_STRING, RECEIVE_MAXIMUM, TOPIC_ALIAS_MAXIMUM, TOPIC_ALIAS, MAXIMUM_QOS, RETAIN_AVAILABLE, USER_PROPERTY,
  MAXIMUM_PACKET_SIZE, WILDCARD_SUBSCRIPTION_AVAILABLE, SUBSCRIPTION_IDENTIFIERS_AVAILABLE, SHARED_SUBSCRIPTION_AVAILABLE,
];

/** The numeric field the decoder keeps a property's value in. */
function numberOf(id: u8): u32 {
  switch (id) {
    case PAYLOAD_FORMAT_INDICATOR: return properties.payloadFormatIndicator;
    case MESSAGE_EXPIRY_INTERVAL: return properties.messageExpiryInterval;
    case SUBSCRIPTION_IDENTIFIER: return properties.subscriptionIdentifier;
    case SESSION_EXPIRY_INTERVAL: return properties.sessionExpiryInterval;
    case SERVER_KEEP_ALIVE: return properties.serverKeepAlive;
    case REQUEST_PROBLEM_INFORMATION: return properties.requestProblemInformation;
    case WILL_DELAY_INTERVAL: return properties.willDelayInterval;
    case REQUEST_RESPONSE_INFORMATION: return properties.requestResponseInformation;
    case RECEIVE_MAXIMUM: return properties.receiveMaximum;
    case TOPIC_ALIAS_MAXIMUM: return properties.topicAliasMaximum;
    case TOPIC_ALIAS: return properties.topicAlias;
    case MAXIMUM_QOS: return properties.maximumQos;
    case RETAIN_AVAILABLE: return properties.retainAvailable;
    case MAXIMUM_PACKET_SIZE: return properties.maximumPacketSize;
    case WILDCARD_SUBSCRIPTION_AVAILABLE: return properties.wildcardSubscriptionAvailable;
    case SUBSCRIPTION_IDENTIFIERS_AVAILABLE: return properties.subscriptionIdentifiersAvailable;
    case SHARED_SUBSCRIPTION_AVAILABLE: return properties.sharedSubscriptionAvailable;
  }
  assert(false, "not a numeric property");
  return 0;
}

/** The (ptr, len) field the decoder keeps a string or binary property in, as bytes. */
function bytesOf(id: u8): u8[] {
  switch (id) {
    case CONTENT_TYPE: return bytesAt(properties.contentTypePtr, properties.contentTypeLen);
    case RESPONSE_TOPIC: return bytesAt(properties.responseTopicPtr, properties.responseTopicLen);
    case CORRELATION_DATA: return bytesAt(properties.correlationDataPtr, properties.correlationDataLen);
    case ASSIGNED_CLIENT_IDENTIFIER: return bytesAt(properties.assignedClientIdentifierPtr, properties.assignedClientIdentifierLen);
    case AUTHENTICATION_METHOD: return bytesAt(properties.authenticationMethodPtr, properties.authenticationMethodLen);
    case AUTHENTICATION_DATA: return bytesAt(properties.authenticationDataPtr, properties.authenticationDataLen);
    case RESPONSE_INFORMATION: return bytesAt(properties.responseInformationPtr, properties.responseInformationLen);
    case SERVER_REFERENCE: return bytesAt(properties.serverReferencePtr, properties.serverReferenceLen);
    case REASON_STRING: return bytesAt(properties.reasonStringPtr, properties.reasonStringLen);
  }
  assert(false, "not a string property");
  return [];
}

// ---- fixtures ----------------------------------------------------------------------

/** One property of a fixture: a number, or bytes (and a second string for a User Property). */
class Prop {
  constructor(public id: u8, public value: u32, public text: u8[], public text2: u8[]) {}
}

function num(id: u8, value: u32): Prop {
  return new Prop(id, value, [], []);
}

function str(id: u8, text: u8[]): Prop {
  return new Prop(id, 0, text, []);
}

function pair(name: u8[], value: u8[]): Prop {
  return new Prop(USER_PROPERTY, 0, name, value);
}

/** A property block: the packet type it is decoded for, its properties in order, its bytes. */
class BlockCase {
  constructor(public name: string, public packetType: u32, public props: Prop[], public bytes: u8[]) {}
}

const K: u8[] = [0x6b]; // "k"
const V: u8[] = [0x76]; // "v"
const ACK_PROPS: Prop[] = [str(REASON_STRING, [0x62, 0x75, 0x73, 0x79]), pair(K, V)];
const ACK_BYTES: u8[] = [
  0x0e, // property length 14
  0x1f, 0x00, 0x04, 0x62, 0x75, 0x73, 0x79, // Reason String "busy"
  0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x76, // User Property "k" = "v"
];

const BLOCKS: BlockCase[] = [
  new BlockCase("Will Properties", WILL_PROPERTIES, [
    num(WILL_DELAY_INTERVAL, 60), num(PAYLOAD_FORMAT_INDICATOR, 1), num(MESSAGE_EXPIRY_INTERVAL, 3600),
    str(CONTENT_TYPE, [0x74, 0x65, 0x78, 0x74]), str(RESPONSE_TOPIC, [0x72, 0x2f, 0x31]), str(CORRELATION_DATA, [0x00, 0xff]), pair(K, V),
  ], [
    0x25, // property length 37
    0x18, 0x00, 0x00, 0x00, 0x3c, // Will Delay Interval 60 s
    0x01, 0x01, // Payload Format Indicator 1 (UTF-8)
    0x02, 0x00, 0x00, 0x0e, 0x10, // Message Expiry Interval 3600 s
    0x03, 0x00, 0x04, 0x74, 0x65, 0x78, 0x74, // Content Type "text"
    0x08, 0x00, 0x03, 0x72, 0x2f, 0x31, // Response Topic "r/1"
    0x09, 0x00, 0x02, 0x00, 0xff, // Correlation Data 00 ff (binary: no UTF-8 rules)
    0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x76, // User Property "k" = "v"
  ]),
  new BlockCase("CONNECT", CONNECT, [
    num(SESSION_EXPIRY_INTERVAL, 300), num(RECEIVE_MAXIMUM, 20), num(MAXIMUM_PACKET_SIZE, 1024), num(TOPIC_ALIAS_MAXIMUM, 10),
    num(REQUEST_RESPONSE_INFORMATION, 1), num(REQUEST_PROBLEM_INFORMATION, 0), pair([0x61], [0x62, 0x63]),
    str(AUTHENTICATION_METHOD, [0x53, 0x43, 0x52, 0x41, 0x4d]), str(AUTHENTICATION_DATA, [0x01, 0x02, 0x03]),
  ], [
    0x2a, // property length 42
    0x11, 0x00, 0x00, 0x01, 0x2c, // Session Expiry Interval 300 s
    0x21, 0x00, 0x14, // Receive Maximum 20
    0x27, 0x00, 0x00, 0x04, 0x00, // Maximum Packet Size 1024
    0x22, 0x00, 0x0a, // Topic Alias Maximum 10
    0x19, 0x01, // Request Response Information 1
    0x17, 0x00, // Request Problem Information 0
    0x26, 0x00, 0x01, 0x61, 0x00, 0x02, 0x62, 0x63, // User Property "a" = "bc"
    0x15, 0x00, 0x05, 0x53, 0x43, 0x52, 0x41, 0x4d, // Authentication Method "SCRAM"
    0x16, 0x00, 0x03, 0x01, 0x02, 0x03, // Authentication Data 01 02 03
  ]),
  new BlockCase("CONNACK", CONNACK, [
    num(SESSION_EXPIRY_INTERVAL, 120), num(RECEIVE_MAXIMUM, 10), num(MAXIMUM_QOS, 1), num(RETAIN_AVAILABLE, 0),
    num(MAXIMUM_PACKET_SIZE, 65536), str(ASSIGNED_CLIENT_IDENTIFIER, [0x69, 0x64]), num(TOPIC_ALIAS_MAXIMUM, 5),
    str(REASON_STRING, [0x6f, 0x6b]), pair(K, V), num(WILDCARD_SUBSCRIPTION_AVAILABLE, 1), num(SUBSCRIPTION_IDENTIFIERS_AVAILABLE, 0),
    num(SHARED_SUBSCRIPTION_AVAILABLE, 1), num(SERVER_KEEP_ALIVE, 30), str(RESPONSE_INFORMATION, [0x72, 0x65, 0x73]),
    str(SERVER_REFERENCE, [0x68]), str(AUTHENTICATION_METHOD, [0x4d]), str(AUTHENTICATION_DATA, [0x07]),
  ], [
    0x40, // property length 64
    0x11, 0x00, 0x00, 0x00, 0x78, // Session Expiry Interval 120 s
    0x21, 0x00, 0x0a, // Receive Maximum 10
    0x24, 0x01, // Maximum QoS 1
    0x25, 0x00, // Retain Available 0
    0x27, 0x00, 0x01, 0x00, 0x00, // Maximum Packet Size 65536
    0x12, 0x00, 0x02, 0x69, 0x64, // Assigned Client Identifier "id"
    0x22, 0x00, 0x05, // Topic Alias Maximum 5
    0x1f, 0x00, 0x02, 0x6f, 0x6b, // Reason String "ok"
    0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x76, // User Property "k" = "v"
    0x28, 0x01, // Wildcard Subscription Available 1
    0x29, 0x00, // Subscription Identifiers Available 0
    0x2a, 0x01, // Shared Subscription Available 1
    0x13, 0x00, 0x1e, // Server Keep Alive 30 s
    0x1a, 0x00, 0x03, 0x72, 0x65, 0x73, // Response Information "res"
    0x1c, 0x00, 0x01, 0x68, // Server Reference "h"
    0x15, 0x00, 0x01, 0x4d, // Authentication Method "M"
    0x16, 0x00, 0x01, 0x07, // Authentication Data 07
  ]),
  new BlockCase("PUBLISH", PUBLISH, [
    num(PAYLOAD_FORMAT_INDICATOR, 0), num(MESSAGE_EXPIRY_INTERVAL, 10), num(TOPIC_ALIAS, 7), str(RESPONSE_TOPIC, [0x72]),
    str(CORRELATION_DATA, [0x2a]), pair([0x61], [0x31]), num(SUBSCRIPTION_IDENTIFIER, 5), num(SUBSCRIPTION_IDENTIFIER, 128),
    pair([0x62], []), str(CONTENT_TYPE, [0x6a, 0x73, 0x6f, 0x6e]),
  ], [
    0x2b, // property length 43
    0x01, 0x00, // Payload Format Indicator 0 (unspecified bytes)
    0x02, 0x00, 0x00, 0x00, 0x0a, // Message Expiry Interval 10 s
    0x23, 0x00, 0x07, // Topic Alias 7
    0x08, 0x00, 0x01, 0x72, // Response Topic "r"
    0x09, 0x00, 0x01, 0x2a, // Correlation Data 2a
    0x26, 0x00, 0x01, 0x61, 0x00, 0x01, 0x31, // User Property "a" = "1"
    0x0b, 0x05, // Subscription Identifier 5
    0x0b, 0x80, 0x01, // Subscription Identifier 128 (two-byte Variable Byte Integer)
    0x26, 0x00, 0x01, 0x62, 0x00, 0x00, // User Property "b" = "" (a second one, empty value)
    0x03, 0x00, 0x04, 0x6a, 0x73, 0x6f, 0x6e, // Content Type "json"
  ]),
  new BlockCase("PUBACK", PUBACK, ACK_PROPS, ACK_BYTES),
  new BlockCase("PUBREC", PUBREC, ACK_PROPS, ACK_BYTES),
  new BlockCase("PUBREL", PUBREL, ACK_PROPS, ACK_BYTES),
  new BlockCase("PUBCOMP", PUBCOMP, ACK_PROPS, ACK_BYTES),
  new BlockCase("SUBACK", SUBACK, ACK_PROPS, ACK_BYTES),
  new BlockCase("UNSUBACK", UNSUBACK, ACK_PROPS, ACK_BYTES),
  new BlockCase("SUBSCRIBE", SUBSCRIBE, [num(SUBSCRIPTION_IDENTIFIER, 268435455), pair(K, V)], [
    0x0c, // property length 12
    0x0b, 0xff, 0xff, 0xff, 0x7f, // Subscription Identifier 268435455, the largest (four bytes)
    0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x76, // User Property "k" = "v"
  ]),
  new BlockCase("UNSUBSCRIBE", UNSUBSCRIBE, [pair(K, V)], [
    0x07, // property length 7
    0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x76, // User Property "k" = "v"
  ]),
  new BlockCase("DISCONNECT", DISCONNECT, [
    num(SESSION_EXPIRY_INTERVAL, 0xffffffff), str(REASON_STRING, [0x78]), pair(K, V), str(SERVER_REFERENCE, [0x68, 0x32]),
  ], [
    0x15, // property length 21
    0x11, 0xff, 0xff, 0xff, 0xff, // Session Expiry Interval 0xffffffff (never expires)
    0x1f, 0x00, 0x01, 0x78, // Reason String "x"
    0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x76, // User Property "k" = "v"
    0x1c, 0x00, 0x02, 0x68, 0x32, // Server Reference "h2"
  ]),
  new BlockCase("AUTH", AUTH, [
    str(AUTHENTICATION_METHOD, [0x4d]), str(AUTHENTICATION_DATA, [0x00, 0x01]), str(REASON_STRING, [0x78]), pair(K, V),
  ], [
    0x14, // property length 20
    0x15, 0x00, 0x01, 0x4d, // Authentication Method "M"
    0x16, 0x00, 0x02, 0x00, 0x01, // Authentication Data 00 01
    0x1f, 0x00, 0x01, 0x78, // Reason String "x"
    0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x76, // User Property "k" = "v"
  ]),
  new BlockCase("empty block", PUBLISH, [], [
    0x00, // property length 0
  ]),
  new BlockCase("two-byte property length", PUBACK, [str(REASON_STRING, repeat(0x61, 126))], ([
    0x81, 0x01, // property length 129
    0x1f, 0x00, 0x7e, // Reason String of 126 bytes
  ] as u8[]).concat(repeat(0x61, 126))), // "aaa…a"
];

/** Bytes the encoder writes for one property. */
function propSize(p: Prop): u32 {
  let type = typeOf(p.id);
  if (type == BYTE) return 2;
  if (type == TWO_BYTE) return 3;
  if (type == FOUR_BYTE) return 5;
  if (type == VARIABLE_BYTE) return variableBytePropertySize(p.value);
  if (type == PAIR) return userPropertySize(p.text.length, p.text2.length);
  return stringPropertySize(p.text.length);
}

/** Writes one property with the writer for its type; checks the size it returns. */
function writeProp(ptr: usize, p: Prop, name: string): u32 {
  let type = typeOf(p.id);
  let n: u32;
  if (type == BYTE) n = writeByteProperty(ptr, p.id, p.value);
  else if (type == TWO_BYTE) n = writeTwoByteProperty(ptr, p.id, p.value);
  else if (type == FOUR_BYTE) n = writeFourByteProperty(ptr, p.id, p.value);
  else if (type == VARIABLE_BYTE) n = writeVariableByteProperty(ptr, p.id, p.value);
  else if (type == PAIR) n = writeUserProperty(ptr, place(p.text), p.text.length, place(p.text2), p.text2.length);
  else n = writeStringProperty(ptr, p.id, place(p.text), p.text.length);
  expect(n).toBe(propSize(p), name + ": size of property 0x" + p.id.toString(16));
  return n;
}

/** Checks every value of c against the last decode, and that nothing else is present. */
function expectDecoded(c: BlockCase): void {
  let mask: u64 = 0;
  let pairs = 0;
  let subscriptionIds = 0;
  let firstSubscriptionId: u32 = 0;
  for (let i = 0; i < c.props.length; i++) {
    let p = c.props[i];
    let what = c.name + ": property 0x" + p.id.toString(16);
    mask |= (<u64>1) << <u64>p.id;
    expect(hasProperty(p.id)).toBe(true, what + " present");
    let type = typeOf(p.id);
    if (type == PAIR) pairs++;
    else if (p.id == SUBSCRIPTION_IDENTIFIER) {
      if (subscriptionIds++ == 0) firstSubscriptionId = p.value;
    } else if (type == STRING || type == BINARY) expect(bytesOf(p.id)).toStrictEqual(p.text, what);
    else expect(numberOf(p.id)).toBe(p.value, what);
  }
  expect(properties.present).toBe(mask, c.name + ": nothing else present");
  expect(properties.userPropertyCount).toBe(pairs, c.name + ": user property count");
  expect(properties.subscriptionIdentifierCount).toBe(subscriptionIds, c.name + ": subscription identifier count");
  if (subscriptionIds > 0) expect(properties.subscriptionIdentifier).toBe(firstSubscriptionId, c.name + ": the first subscription identifier");
}

/** Walks the User Properties and Subscription Identifiers and compares them, in order, with c's. */
function expectWalked(c: BlockCase): void {
  let userCursor: usize = 0;
  let idCursor: usize = 0;
  for (let i = 0; i < c.props.length; i++) {
    let p = c.props[i];
    if (p.id == USER_PROPERTY) {
      userCursor = nextUserProperty(userCursor);
      expect(userCursor).not.toBe(0, c.name + ": a user property left");
      expect(bytesAt(properties.userNamePtr, properties.userNameLen)).toStrictEqual(p.text, c.name + ": user property name");
      expect(bytesAt(properties.userValuePtr, properties.userValueLen)).toStrictEqual(p.text2, c.name + ": user property value");
    } else if (p.id == SUBSCRIPTION_IDENTIFIER) {
      idCursor = nextSubscriptionIdentifier(idCursor);
      expect(idCursor).not.toBe(0, c.name + ": a subscription identifier left");
      expect(properties.subscriptionIdentifier).toBe(p.value, c.name + ": subscription identifier");
    }
  }
  expect(nextUserProperty(userCursor)).toBe(0, c.name + ": no further user property");
  expect(nextSubscriptionIdentifier(idCursor)).toBe(0, c.name + ": no further subscription identifier");
}

describe("property blocks", () => {
  test("decode every property each packet type allows, from annotated bytes", () => {
    for (let i = 0; i < BLOCKS.length; i++) {
      let c = BLOCKS[i];
      clearProperties();
      let ptr = place(c.bytes);
      expect(decodeProperties(c.packetType, ptr, c.bytes.length)).toBe(REASON_SUCCESS, c.name);
      expect(properties.size).toBe(<u32>c.bytes.length, c.name + ": size");
      expect(properties.contentPtr).toBe(ptr + c.bytes.length - properties.contentLen, c.name + ": content after the length");
      expectDecoded(c);
    }
  });

  test("walk the User Properties and Subscription Identifiers in order", () => {
    for (let i = 0; i < BLOCKS.length; i++) {
      let c = BLOCKS[i];
      expect(decodeProperties(c.packetType, place(c.bytes), c.bytes.length)).toBe(REASON_SUCCESS, c.name);
      expectWalked(c);
    }
  });

  test("encode to the same bytes", () => {
    for (let i = 0; i < BLOCKS.length; i++) {
      let c = BLOCKS[i];
      let contentLen: u32 = 0;
      for (let k = 0; k < c.props.length; k++) contentLen += propSize(c.props[k]);
      clearOut();
      let n = writePropertyLength(out, contentLen);
      for (let k = 0; k < c.props.length; k++) n += writeProp(out + n, c.props[k], c.name);
      expect(n).toBe(propertiesLength(contentLen), c.name + ": propertiesLength");
      expect(bytesAt(out, n)).toStrictEqual(c.bytes, c.name + ": bytes");
      expect(load<u8>(out + n)).toBe(GUARD, c.name + ": nothing written past the block");
    }
  });

  test("writeProperties writes the length and copies prepared properties", () => {
    let c = BLOCKS[BLOCKS.length - 1]; // two-byte property length
    let content = place(c.bytes.slice(2));
    clearOut();
    let n = writeProperties(out, content, c.bytes.length - 2);
    expect(n).toBe(<u32>c.bytes.length);
    expect(bytesAt(out, n)).toStrictEqual(c.bytes);
    expect(load<u8>(out + n)).toBe(GUARD);
  });

  test("the bytes after the block are not read", () => {
    let ptr = place([
      0x02, // property length 2
      0x24, 0x01, // Maximum QoS 1
      0x24, 0x00, // after the block: would be a second Maximum QoS
    ]);
    expect(decodeProperties(CONNACK, ptr, 5)).toBe(REASON_SUCCESS);
    expect(properties.size).toBe(3);
    expect(properties.maximumQos).toBe(1);
  });

  test("Four Byte Integers are big-endian", () => {
    clearOut();
    writeU32(out, 0x01020304);
    expect(bytesAt(out, 4)).toStrictEqual([0x01, 0x02, 0x03, 0x04] as u8[]);
    expect(readU32(out)).toBe(0x01020304);
  });
});

// ---- which packets may carry which property (Table 2-4) ------------------------------

/** A block holding one property with a valid value; Authentication Data comes after the Authentication Method it needs. */
function singleProperty(id: u8): u8[] {
  let type = typeOf(id);
  let bytes: u8[] = id == AUTHENTICATION_DATA ? [0x06, 0x15, 0x00, 0x01, 0x4d] : [0x00]; // Authentication Method "M"
  bytes.push(id);
  if (type == BYTE) bytes.push(1);
  else if (type == TWO_BYTE) bytes = bytes.concat([0x00, 0x01]);
  else if (type == FOUR_BYTE) bytes = bytes.concat([0x00, 0x00, 0x00, 0x01]);
  else if (type == VARIABLE_BYTE) bytes.push(1);
  else if (type == PAIR) bytes = bytes.concat([0x00, 0x01, 0x61, 0x00, 0x01, 0x62]);
  else bytes = bytes.concat([0x00, 0x01, 0x61]);
  bytes[0] = <u8>(bytes.length - 1);
  return bytes;
}

describe("allowed properties", () => {
  test("each property decodes in exactly the packets Table 2-4 lists, and is malformed in every other", () => {
    for (let i = 0; i < IDENTIFIERS.length; i++) {
      let id = IDENTIFIERS[i];
      let bytes = singleProperty(id);
      let ptr = place(bytes);
      for (let type: u32 = 0; type <= 15; type++) {
        let allowed = (packetsOf(id) & bit(type)) != 0;
        let expected = allowed ? REASON_SUCCESS : REASON_MALFORMED_PACKET;
        let what = "property 0x" + id.toString(16) + " in packet type " + type.toString();
        expect(decodeProperties(type, ptr, bytes.length)).toBe(expected, what);
      }
    }
  });

  test("PINGREQ, PINGRESP and types beyond 15 carry no property", () => {
    let ptr = place(singleProperty(USER_PROPERTY));
    expect(decodeProperties(PINGREQ, ptr, 8)).toBe(REASON_MALFORMED_PACKET);
    expect(decodeProperties(PINGRESP, ptr, 8)).toBe(REASON_MALFORMED_PACKET);
    expect(decodeProperties(16, ptr, 8)).toBe(REASON_MALFORMED_PACKET, "type 16");
    expect(decodeProperties(48, ptr, 8)).toBe(REASON_MALFORMED_PACKET, "type 48");
  });

  test("an unknown identifier is malformed (§2.2.2.2)", () => {
    let unknown: u8[] = [0x00, 0x04, 0x07, 0x0a, 0x0c, 0x10, 0x14, 0x1b, 0x1d, 0x1e, 0x20, 0x2b, 0x7f, 0x80, 0xff];
    for (let i = 0; i < unknown.length; i++) {
      let ptr = place([
        0x02, // property length 2
        unknown[i], 0x00, // an unknown identifier and a byte
      ]);
      expect(decodeProperties(PUBLISH, ptr, 3)).toBe(REASON_MALFORMED_PACKET, "identifier 0x" + unknown[i].toString(16));
    }
  });
});

// ---- malformed and invalid blocks ------------------------------------------------------

class BadCase {
  constructor(public name: string, public packetType: u32, public bytes: u8[], public reason: u8) {}
}

const BAD_BLOCKS: BadCase[] = [
  // too short: the bytes end before the block or a value does
  new BadCase("no property length at all", CONNACK, [], REASON_MALFORMED_PACKET),
  new BadCase("property length cut after a continuation byte", CONNACK, [0x80], REASON_MALFORMED_PACKET),
  new BadCase("property length past the packet", CONNACK, [
    0x05, // property length 5, but 3 bytes follow
    0x21, 0x00, 0x0a, // Receive Maximum 10
  ], REASON_MALFORMED_PACKET),
  new BadCase("Two Byte Integer cut by the block's end", CONNACK, [
    0x02, // property length 2
    0x21, 0x00, // Receive Maximum, one of its two bytes
    0x0a, // after the block
  ], REASON_MALFORMED_PACKET),
  new BadCase("Four Byte Integer cut", CONNACK, [0x04, 0x11, 0x00, 0x00, 0x00], REASON_MALFORMED_PACKET),
  new BadCase("Byte missing", CONNACK, [0x01, 0x24], REASON_MALFORMED_PACKET),
  new BadCase("string length past the block", CONNACK, [
    0x04, // property length 4
    0x1f, 0x00, 0x05, 0x61, // Reason String of 5 bytes, 1 present
  ], REASON_MALFORMED_PACKET),
  new BadCase("string length cut", CONNACK, [0x02, 0x1f, 0x00], REASON_MALFORMED_PACKET),
  new BadCase("user property value past the block", CONNACK, [
    0x06, // property length 6
    0x26, 0x00, 0x01, 0x6b, 0x00, 0x02, // User Property "k" = a value of 2 bytes, none present
  ], REASON_MALFORMED_PACKET),
  new BadCase("user property without its value", CONNACK, [0x04, 0x26, 0x00, 0x01, 0x6b], REASON_MALFORMED_PACKET),
  new BadCase("Variable Byte Integer cut", PUBLISH, [
    0x02, // property length 2
    0x0b, 0x80, // Subscription Identifier, its continuation bit set, the block ends
  ], REASON_MALFORMED_PACKET),
  // Variable Byte Integers of five bytes (§1.5.5)
  new BadCase("property length of five bytes", PUBLISH, [0x80, 0x80, 0x80, 0x80, 0x00], REASON_MALFORMED_PACKET),
  new BadCase("Subscription Identifier of five bytes", PUBLISH, [
    0x06, // property length 6
    0x0b, 0x81, 0x80, 0x80, 0x80, 0x01, // Subscription Identifier: a fifth byte
  ], REASON_MALFORMED_PACKET),
  // duplicates of single-use properties (Protocol Error, e.g. §3.2.2.3.3)
  new BadCase("Receive Maximum twice", CONNACK, [0x06, 0x21, 0x00, 0x0a, 0x21, 0x00, 0x0a], REASON_PROTOCOL_ERROR),
  new BadCase("Reason String twice", PUBACK, [0x07, 0x1f, 0x00, 0x01, 0x61, 0x1f, 0x00, 0x00], REASON_PROTOCOL_ERROR),
  new BadCase("Topic Alias twice", PUBLISH, [0x06, 0x23, 0x00, 0x01, 0x23, 0x00, 0x02], REASON_PROTOCOL_ERROR),
  new BadCase("Subscription Identifier twice in SUBSCRIBE (§3.8.2.1.2)", SUBSCRIBE, [0x04, 0x0b, 0x01, 0x0b, 0x02], REASON_PROTOCOL_ERROR),
  new BadCase("Will Delay Interval twice", WILL_PROPERTIES, [0x0a, 0x18, 0, 0, 0, 1, 0x18, 0, 0, 0, 1], REASON_PROTOCOL_ERROR),
  new BadCase("Authentication Data twice", CONNECT, [
    0x0c, // property length 12
    0x15, 0x00, 0x01, 0x4d, // Authentication Method "M"
    0x16, 0x00, 0x01, 0x01, // Authentication Data 01
    0x16, 0x00, 0x01, 0x02, // Authentication Data 02
  ], REASON_PROTOCOL_ERROR),
  // values the spec forbids
  new BadCase("Receive Maximum 0 (§3.2.2.3.3)", CONNACK, [0x03, 0x21, 0x00, 0x00], REASON_PROTOCOL_ERROR),
  new BadCase("Maximum Packet Size 0 (§3.2.2.3.6)", CONNACK, [0x05, 0x27, 0x00, 0x00, 0x00, 0x00], REASON_PROTOCOL_ERROR),
  new BadCase("Subscription Identifier 0 (§3.3.2.3.8)", PUBLISH, [0x02, 0x0b, 0x00], REASON_PROTOCOL_ERROR),
  new BadCase("Maximum QoS 2 (§3.2.2.3.4)", CONNACK, [0x02, 0x24, 0x02], REASON_PROTOCOL_ERROR),
  new BadCase("Retain Available 2 (§3.2.2.3.5)", CONNACK, [0x02, 0x25, 0x02], REASON_PROTOCOL_ERROR),
  new BadCase("Wildcard Subscription Available 2 (§3.2.2.3.11)", CONNACK, [0x02, 0x28, 0x02], REASON_PROTOCOL_ERROR),
  new BadCase("Subscription Identifiers Available 2 (§3.2.2.3.12)", CONNACK, [0x02, 0x29, 0x02], REASON_PROTOCOL_ERROR),
  new BadCase("Shared Subscription Available 0xff (§3.2.2.3.13)", CONNACK, [0x02, 0x2a, 0xff], REASON_PROTOCOL_ERROR),
  new BadCase("Payload Format Indicator 2 (§3.3.2.3.2)", PUBLISH, [0x02, 0x01, 0x02], REASON_PROTOCOL_ERROR),
  new BadCase("Request Problem Information 2 (§3.1.2.11.7)", CONNECT, [0x02, 0x17, 0x02], REASON_PROTOCOL_ERROR),
  new BadCase("Request Response Information 2 (§3.1.2.11.6)", CONNECT, [0x02, 0x19, 0x02], REASON_PROTOCOL_ERROR),
  new BadCase("Topic Alias 0 (§3.3.2.3.4)", PUBLISH, [0x03, 0x23, 0x00, 0x00], REASON_TOPIC_ALIAS_INVALID),
  new BadCase("Authentication Data without Authentication Method (§3.2.2.3.18)", CONNACK, [0x04, 0x16, 0x00, 0x01, 0x01], REASON_PROTOCOL_ERROR),
  // ill-formed UTF-8 in a UTF-8 Encoded String (§1.5.4)
  new BadCase("Reason String with an invalid byte", PUBACK, [0x04, 0x1f, 0x00, 0x01, 0xff], REASON_MALFORMED_PACKET),
  new BadCase("Reason String with U+0000", PUBACK, [0x05, 0x1f, 0x00, 0x02, 0x61, 0x00], REASON_MALFORMED_PACKET),
  new BadCase("Content Type with a surrogate", PUBLISH, [0x06, 0x03, 0x00, 0x03, 0xed, 0xa0, 0x80], REASON_MALFORMED_PACKET),
  new BadCase("Assigned Client Identifier overlong", CONNACK, [0x05, 0x12, 0x00, 0x02, 0xc0, 0xaf], REASON_MALFORMED_PACKET),
  new BadCase("User Property name ill-formed", CONNACK, [0x07, 0x26, 0x00, 0x01, 0x80, 0x00, 0x01, 0x76], REASON_MALFORMED_PACKET),
  new BadCase("User Property value ill-formed", CONNACK, [0x07, 0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0xc3], REASON_MALFORMED_PACKET),
];

describe("malformed and invalid blocks", () => {
  test("each returns the Reason Code the spec gives it", () => {
    for (let i = 0; i < BAD_BLOCKS.length; i++) {
      let c = BAD_BLOCKS[i];
      expect(decodeProperties(c.packetType, place(c.bytes), c.bytes.length)).toBe(<u32>c.reason, c.name);
    }
  });

  test("repeatable properties repeat: User Property anywhere, Subscription Identifier in PUBLISH (§3.3.2.3.8)", () => {
    let users = place([
      0x0c, // property length 12
      0x26, 0x00, 0x01, 0x6b, 0x00, 0x00, // User Property "k" = ""
      0x26, 0x00, 0x01, 0x6b, 0x00, 0x00, // the same again: allowed (§3.1.2.11.8)
    ]);
    expect(decodeProperties(CONNACK, users, 13)).toBe(REASON_SUCCESS, "user property twice");
    expect(properties.userPropertyCount).toBe(2);
    let ids = place([0x04, 0x0b, 0x01, 0x0b, 0x02]); // two Subscription Identifiers
    expect(decodeProperties(PUBLISH, ids, 5)).toBe(REASON_SUCCESS, "subscription identifier twice in PUBLISH");
    expect(properties.subscriptionIdentifierCount).toBe(2);
    expect(properties.subscriptionIdentifier).toBe(1, "the first is kept");
  });

  test("binary data may hold any byte (§1.5.6)", () => {
    let ptr = place([0x05, 0x09, 0x00, 0x02, 0xff, 0x00]); // Correlation Data ff 00
    expect(decodeProperties(PUBLISH, ptr, 6)).toBe(REASON_SUCCESS);
    expect(bytesAt(properties.correlationDataPtr, properties.correlationDataLen)).toStrictEqual([0xff, 0x00] as u8[]);
  });

  test("a bad block leaves nothing behind, of itself or of an earlier block", () => {
    let good = place([0x03, 0x21, 0x00, 0x0a]); // Receive Maximum 10
    expect(decodeProperties(CONNACK, good, 4)).toBe(REASON_SUCCESS);
    expect(hasProperty(RECEIVE_MAXIMUM)).toBe(true);
    let bad = place([0x80]);
    expect(decodeProperties(CONNACK, bad, 1)).toBe(REASON_MALFORMED_PACKET);
    expect(hasProperty(RECEIVE_MAXIMUM)).toBe(false);
    let badLate = place([
      0x0b, // property length 11
      0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x76, // User Property "k" = "v"
      0x21, 0x00, 0x05, // Receive Maximum 5
      0x24, // Maximum QoS without its byte
    ]);
    expect(decodeProperties(CONNACK, badLate, 12)).toBe(REASON_MALFORMED_PACKET);
    expect(properties.present).toBe(0, "nothing of the bad block stays");
    expect(properties.userPropertyCount).toBe(0);
    expect(nextUserProperty(0)).toBe(0, "no user property to walk");
  });
});
