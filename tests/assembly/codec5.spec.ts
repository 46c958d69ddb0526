// Specs for assembly/codec5.ts: the MQTT 5.0 encoders compared with annotated bytes and
// decoded again where a client decodes that packet; every decoder fed well-formed,
// too-short, too-long and invalid packets, each with the Reason Code it must return.
// Fixtures are whole packets (fixed header first), annotated field by field.
import {
  CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, DISCONNECT,
  CONNECT_FLAG_CLEAN_SESSION, CONNECT_FLAG_WILL, CONNECT_FLAG_USERNAME, CONNECT_FLAG_PASSWORD,
  Decoded, decoded, decodeRemainingLength, writeFixedHeader, writeField, packetSize,
} from "../../assembly/codec";
import { OK, INVALID_ARGUMENT, INVALID_QOS } from "../../assembly/status";
import {
  AUTH, REASON_SUCCESS, REASON_MALFORMED_PACKET, REASON_PROTOCOL_ERROR, REASON_TOPIC_ALIAS_INVALID,
} from "../../assembly/reasons";
import {
  WILL_PROPERTIES, PAYLOAD_FORMAT_INDICATOR, WILL_DELAY_INTERVAL, RECEIVE_MAXIMUM, TOPIC_ALIAS_MAXIMUM, USER_PROPERTY, MAXIMUM_QOS,
  REASON_STRING, SERVER_REFERENCE, SUBSCRIPTION_IDENTIFIER, AUTHENTICATION_METHOD,
  properties, decodeProperties, hasProperty, writeUserProperty,
} from "../../assembly/properties";
import {
  PROTOCOL_VERSION_5, Decoded5, decoded5, ConnectProperties, checkServerHeader5, connectPropertiesContentLength,
  connect5RemainingLength, writeConnect5Header, decodeConnack5, publish5RemainingLength, encodePublish5, decodePublish5,
  ack5RemainingLength, encodeAck5, decodeAck5, OPTION_NO_LOCAL, OPTION_RETAIN_AS_PUBLISHED, RETAIN_HANDLING_SEND,
  RETAIN_HANDLING_SEND_IF_NEW, RETAIN_HANDLING_DO_NOT_SEND, subscriptionOptions, subscribe5RemainingLength,
  writeSubscribe5Header, writeSubscription, decodeSuback5, disconnect5RemainingLength, encodeDisconnect5,
  decodeDisconnect5, decodeAuth,
} from "../../assembly/codec5";
import { place, utf8, bytesAt, resetFixtures } from "./support/bytes";
import { out, clearOut, expectEncoded, Packet, placePacket, fieldLength, writeText } from "./support/packets";

/** Fills the decode results with a pattern no decoder writes, so stale values cannot pass. */
function clearDecoded(): void {
  memory.fill(changetype<usize>(decoded), 0xaa, offsetof<Decoded>());
  memory.fill(changetype<usize>(decoded5), 0xaa, offsetof<Decoded5>());
}

/** The Topic Alias Maximum the specs' client announced. */
const ALIAS_MAXIMUM: u32 = 10;

/** Decodes a packet from the server with the decoder for its type. */
function decode5(packet: Packet): u32 {
  let type = packet.header >> 4;
  if (type == CONNACK) return decodeConnack5(packet.body, packet.len);
  if (type == PUBLISH) return decodePublish5(packet.header, packet.body, packet.len, ALIAS_MAXIMUM);
  if (type >= PUBACK && type <= PUBCOMP) return decodeAck5(type, packet.body, packet.len);
  if (type == SUBACK || type == UNSUBACK) return decodeSuback5(type, packet.body, packet.len);
  if (type == DISCONNECT) return decodeDisconnect5(packet.body, packet.len);
  if (type == AUTH) return decodeAuth(packet.body, packet.len);
  assert(false, "no decoder for this type");
  return 0;
}

beforeEach(resetFixtures);

// ---- fixed header (§2.1.3) ---------------------------------------------------------

class HeaderCase {
  constructor(public header: u8, public reason: u8, public name: string) {}
}

const HEADERS: HeaderCase[] = [
  new HeaderCase(0x20, REASON_SUCCESS, "CONNACK"),
  new HeaderCase(0x21, REASON_MALFORMED_PACKET, "CONNACK with a flag"),
  new HeaderCase(0x3d, REASON_SUCCESS, "PUBLISH DUP QoS 2 retain"),
  new HeaderCase(0x36, REASON_MALFORMED_PACKET, "PUBLISH QoS 3"),
  new HeaderCase(0x62, REASON_SUCCESS, "PUBREL"),
  new HeaderCase(0x60, REASON_MALFORMED_PACKET, "PUBREL without its reserved flag"),
  new HeaderCase(0xe0, REASON_SUCCESS, "DISCONNECT: a 5.0 server may send it (§3.14)"),
  new HeaderCase(0xe1, REASON_MALFORMED_PACKET, "DISCONNECT with a flag"),
  new HeaderCase(0xf0, REASON_SUCCESS, "AUTH (§3.15)"),
  new HeaderCase(0xf2, REASON_MALFORMED_PACKET, "AUTH with a flag"),
  new HeaderCase(0x00, REASON_MALFORMED_PACKET, "reserved type 0"),
  new HeaderCase(0x10, REASON_PROTOCOL_ERROR, "CONNECT from a server"),
  new HeaderCase(0x82, REASON_PROTOCOL_ERROR, "SUBSCRIBE from a server"),
  new HeaderCase(0xc0, REASON_PROTOCOL_ERROR, "PINGREQ from a server"),
];

describe("fixed header", () => {
  test("checkServerHeader5 accepts DISCONNECT and AUTH and keeps the 3.1.1 rules", () => {
    for (let i = 0; i < HEADERS.length; i++) {
      let c = HEADERS[i];
      expect(checkServerHeader5(c.header)).toBe(<u32>c.reason, c.name);
    }
  });
});

// ---- CONNECT (§3.1) -------------------------------------------------------------------

const connectProperties = changetype<ConnectProperties>(memory.data(offsetof<ConnectProperties>()));

/** The defaults: nothing announced, so nothing written. */
function defaultConnectProperties(): ConnectProperties {
  let p = connectProperties;
  p.sessionExpiryInterval = 0;
  p.receiveMaximum = 65535;
  p.maximumPacketSize = 0;
  p.topicAliasMaximum = 0;
  p.requestResponseInformation = 0;
  p.requestProblemInformation = 1;
  p.userPropertiesPtr = 0;
  p.userPropertiesLen = 0;
  return p;
}

class ConnectCase {
  constructor(
    public name: string,
    public announce: bool,
    public flags: u8,
    public will: bool,
    public username: string | null,
    public password: string | null,
    public bytes: u8[],
  ) {}
}

const WILL_PROPS: u8[] = [
  0x18, 0x00, 0x00, 0x00, 0x05, // Will Delay Interval 5 s
  0x01, 0x01, // Payload Format Indicator 1
];

/** Fills connectProperties with every property the client announces. */
function announceAll(): ConnectProperties {
  let p = defaultConnectProperties();
  p.sessionExpiryInterval = 300;
  p.receiveMaximum = 8;
  p.maximumPacketSize = 1536;
  p.topicAliasMaximum = 4;
  p.requestResponseInformation = 1;
  p.requestProblemInformation = 0;
  let k = utf8("k");
  let v = utf8("v");
  let users = place([0, 0, 0, 0, 0, 0, 0]);
  p.userPropertiesLen = writeUserProperty(users, place(k), 1, place(v), 1);
  p.userPropertiesPtr = users;
  return p;
}

/** A whole MQTT 5 CONNECT built from the codec's pieces, in the §3.1.3 payload order. */
function encodeConnect5(c: ConnectCase): u32 {
  let p = c.announce ? announceAll() : defaultConnectProperties();
  let willPropertiesLen: u32 = c.will ? WILL_PROPS.length : 0;
  let remainingLength = connect5RemainingLength(p, 1, willPropertiesLen, c.will ? 1 : -1, c.will ? 3 : -1, fieldLength(c.username), fieldLength(c.password));
  let n = writeFixedHeader(out, CONNECT << 4, remainingLength);
  n += writeConnect5Header(out + n, c.flags, 60, p);
  n += writeText(out + n, "c");
  if (c.will) {
    store<u8>(out + n, <u8>WILL_PROPS.length); // Property Length of the Will Properties
    memory.copy(out + n + 1, place(WILL_PROPS), WILL_PROPS.length);
    n += 1 + WILL_PROPS.length;
    n += writeText(out + n, "w");
    n += writeText(out + n, "bye");
  }
  n += writeText(out + n, c.username);
  n += writeText(out + n, c.password);
  expect(n).toBe(packetSize(remainingLength), c.name + ": packetSize");
  return n;
}

const CONNECTS: ConnectCase[] = [
  new ConnectCase("clean start, nothing announced", false, CONNECT_FLAG_CLEAN_SESSION, false, null, null, [
    0x10, 0x0e, // CONNECT, remaining length 14
    0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
    0x05, // protocol version 5
    0x02, // connect flags: clean start
    0x00, 0x3c, // keep alive 60 s
    0x00, // property length 0: every property at its default
    0x00, 0x01, 0x63, // client identifier "c"
  ]),
  new ConnectCase("every property the client announces", true, CONNECT_FLAG_CLEAN_SESSION, false, null, null, [
    0x10, 0x29, // CONNECT, remaining length 41
    0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
    0x05, // protocol version 5
    0x02, // connect flags: clean start
    0x00, 0x3c, // keep alive 60 s
    0x1b, // property length 27
    0x11, 0x00, 0x00, 0x01, 0x2c, // Session Expiry Interval 300 s
    0x21, 0x00, 0x08, // Receive Maximum 8
    0x27, 0x00, 0x00, 0x06, 0x00, // Maximum Packet Size 1536
    0x22, 0x00, 0x04, // Topic Alias Maximum 4
    0x19, 0x01, // Request Response Information 1
    0x17, 0x00, // Request Problem Information 0
    0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x76, // User Property "k" = "v"
    0x00, 0x01, 0x63, // client identifier "c"
  ]),
  new ConnectCase("will with Will Properties, user name and password", false, CONNECT_FLAG_CLEAN_SESSION | CONNECT_FLAG_WILL | CONNECT_FLAG_USERNAME | CONNECT_FLAG_PASSWORD, true, "u", "p", [
    0x10, 0x24, // CONNECT, remaining length 36
    0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
    0x05, // protocol version 5
    0xc6, // connect flags: user name, password, will, clean start
    0x00, 0x3c, // keep alive 60 s
    0x00, // property length 0
    0x00, 0x01, 0x63, // client identifier "c"
    0x07, // Will Properties length 7
    0x18, 0x00, 0x00, 0x00, 0x05, // Will Delay Interval 5 s
    0x01, 0x01, // Payload Format Indicator 1
    0x00, 0x01, 0x77, // will topic "w"
    0x00, 0x03, 0x62, 0x79, 0x65, // will payload "bye"
    0x00, 0x01, 0x75, // user name "u"
    0x00, 0x01, 0x70, // password "p"
  ]),
  new ConnectCase("password without user name (§3.1.2.9)", false, CONNECT_FLAG_CLEAN_SESSION | CONNECT_FLAG_PASSWORD, false, null, "p", [
    0x10, 0x11, // CONNECT, remaining length 17
    0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
    0x05, // protocol version 5
    0x42, // connect flags: password, clean start
    0x00, 0x3c, // keep alive 60 s
    0x00, // property length 0
    0x00, 0x01, 0x63, // client identifier "c"
    0x00, 0x01, 0x70, // password "p"
  ]),
];

describe("CONNECT", () => {
  test("encodes protocol version 5 with its properties in their exact bytes", () => {
    expect(PROTOCOL_VERSION_5).toBe(5);
    for (let i = 0; i < CONNECTS.length; i++) {
      let c = CONNECTS[i];
      clearOut();
      expectEncoded(encodeConnect5(c), c.bytes, c.name);
    }
  });

  test("the announced properties decode as CONNECT properties", () => {
    clearOut();
    let n = encodeConnect5(CONNECTS[1]);
    expect(decodeProperties(CONNECT, out + 12, n - 12)).toBe(REASON_SUCCESS);
    expect(properties.size).toBe(28);
    expect(properties.sessionExpiryInterval).toBe(300);
    expect(properties.receiveMaximum).toBe(8);
    expect(properties.maximumPacketSize).toBe(1536);
    expect(properties.topicAliasMaximum).toBe(4);
    expect(properties.requestResponseInformation).toBe(1);
    expect(properties.requestProblemInformation).toBe(0);
    expect(properties.userPropertyCount).toBe(1);
  });

  test("the Will Properties decode as Will Properties", () => {
    clearOut();
    encodeConnect5(CONNECTS[2]);
    expect(decodeProperties(WILL_PROPERTIES, out + 16, 8)).toBe(REASON_SUCCESS);
    expect(properties.willDelayInterval).toBe(5);
    expect(properties.payloadFormatIndicator).toBe(1);
    expect(hasProperty(WILL_DELAY_INTERVAL) && hasProperty(PAYLOAD_FORMAT_INDICATOR)).toBe(true);
  });

  test("a property at its default costs no byte", () => {
    let p = defaultConnectProperties();
    expect(connectPropertiesContentLength(p)).toBe(0, "defaults");
    p.receiveMaximum = 0; // not a valid Receive Maximum: never written
    expect(connectPropertiesContentLength(p)).toBe(0, "Receive Maximum 0");
    p.receiveMaximum = 65534;
    expect(connectPropertiesContentLength(p)).toBe(3, "Receive Maximum below the default");
    p.requestProblemInformation = 0;
    expect(connectPropertiesContentLength(p)).toBe(5, "and Request Problem Information 0");
  });
});

// ---- CONNACK (§3.2) -------------------------------------------------------------------

describe("CONNACK", () => {
  test("success without properties", () => {
    let packet = placePacket([
      0x20, 0x03, // CONNACK, remaining length 3
      0x00, // acknowledge flags: no session present
      0x00, // reason code Success
      0x00, // property length 0
    ], "success");
    clearDecoded();
    expect(decodeConnack5(packet.body, packet.len)).toBe(REASON_SUCCESS);
    expect(decoded.sessionPresent).toBe(false);
    expect(decoded5.reasonCode).toBe(REASON_SUCCESS);
    expect(properties.present).toBe(0);
  });

  test("session present with the server's limits", () => {
    let packet = placePacket([
      0x20, 0x0b, // CONNACK, remaining length 11
      0x01, // acknowledge flags: session present
      0x00, // reason code Success
      0x08, // property length 8
      0x21, 0x00, 0x05, // Receive Maximum 5
      0x22, 0x00, 0x03, // Topic Alias Maximum 3
      0x24, 0x01, // Maximum QoS 1
    ], "session present");
    clearDecoded();
    expect(decodeConnack5(packet.body, packet.len)).toBe(REASON_SUCCESS);
    expect(decoded.sessionPresent).toBe(true);
    expect(decoded5.reasonCode).toBe(REASON_SUCCESS);
    expect(properties.receiveMaximum).toBe(5);
    expect(properties.topicAliasMaximum).toBe(3);
    expect(properties.maximumQos).toBe(1);
    expect(hasProperty(RECEIVE_MAXIMUM) && hasProperty(TOPIC_ALIAS_MAXIMUM) && hasProperty(MAXIMUM_QOS)).toBe(true);
  });

  test("a refusal with a Reason String", () => {
    let packet = placePacket([
      0x20, 0x08, // CONNACK, remaining length 8
      0x00, // acknowledge flags
      0x86, // reason code Bad User Name or Password
      0x05, // property length 5
      0x1f, 0x00, 0x02, 0x6e, 0x6f, // Reason String "no"
    ], "refusal");
    clearDecoded();
    expect(decodeConnack5(packet.body, packet.len)).toBe(REASON_SUCCESS);
    expect(decoded5.reasonCode).toBe(0x86);
    expect(bytesAt(properties.reasonStringPtr, properties.reasonStringLen)).toStrictEqual(utf8("no"));
  });

  test("Use another server with a Server Reference", () => {
    let packet = placePacket([
      0x20, 0x07, // CONNACK, remaining length 7
      0x00, // acknowledge flags
      0x9c, // reason code Use another server
      0x04, // property length 4
      0x1c, 0x00, 0x01, 0x68, // Server Reference "h"
    ], "use another server");
    expect(decodeConnack5(packet.body, packet.len)).toBe(REASON_SUCCESS);
    expect(decoded5.reasonCode).toBe(0x9c);
    expect(hasProperty(SERVER_REFERENCE)).toBe(true);
  });
});

// ---- PUBLISH (§3.3) -------------------------------------------------------------------

const TOPIC_A_B: u8[] = [0x61, 0x2f, 0x62]; // "a/b"
const PAYLOAD_HI: u8[] = [0x68, 0x69]; // "hi"

class PublishCase {
  constructor(
    public name: string,
    public qos: u32,
    public retain: bool,
    public packetId: u32,
    public topic: u8[],
    public props: u8[],
    public payload: u8[],
    public bytes: u8[],
  ) {}
}

const PUBLISHES: PublishCase[] = [
  new PublishCase("QoS 0 without properties", 0, false, 0, TOPIC_A_B, [], PAYLOAD_HI, [
    0x30, 0x08, // PUBLISH QoS 0, remaining length 8
    0x00, 0x03, 0x61, 0x2f, 0x62, // topic name "a/b"
    0x00, // property length 0
    0x68, 0x69, // payload "hi"
  ]),
  new PublishCase("QoS 1 setting a Topic Alias", 1, false, 1, TOPIC_A_B, [0x23, 0x00, 0x01, 0x01, 0x01], PAYLOAD_HI, [
    0x32, 0x0f, // PUBLISH QoS 1, remaining length 15
    0x00, 0x03, 0x61, 0x2f, 0x62, // topic name "a/b"
    0x00, 0x01, // packet id 1
    0x05, // property length 5
    0x23, 0x00, 0x01, // Topic Alias 1
    0x01, 0x01, // Payload Format Indicator 1
    0x68, 0x69, // payload "hi"
  ]),
  new PublishCase("QoS 2 retained, zero-length topic with its alias (§3.3.2.3.4)", 2, true, 0x1234, [], [0x23, 0x00, 0x01], [0x78], [
    0x35, 0x09, // PUBLISH QoS 2 retain, remaining length 9
    0x00, 0x00, // topic name "" (the alias stands for it)
    0x12, 0x34, // packet id 0x1234
    0x03, // property length 3
    0x23, 0x00, 0x01, // Topic Alias 1
    0x78, // payload "x"
  ]),
  new PublishCase("QoS 0 with a User Property and Message Expiry, empty payload", 0, false, 0, TOPIC_A_B, [
    0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x76, 0x02, 0x00, 0x00, 0x00, 0x3c,
  ], [], [
    0x30, 0x12, // PUBLISH QoS 0, remaining length 18
    0x00, 0x03, 0x61, 0x2f, 0x62, // topic name "a/b"
    0x0c, // property length 12
    0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x76, // User Property "k" = "v"
    0x02, 0x00, 0x00, 0x00, 0x3c, // Message Expiry Interval 60 s
  ]),
];

describe("PUBLISH", () => {
  test("encodes the properties between the packet id and the payload", () => {
    for (let i = 0; i < PUBLISHES.length; i++) {
      let c = PUBLISHES[i];
      let remainingLength = publish5RemainingLength(c.topic.length, c.props.length, c.payload.length, c.qos);
      clearOut();
      let n = encodePublish5(out, place(c.topic), c.topic.length, place(c.props), c.props.length, place(c.payload), c.payload.length, c.qos, c.retain, c.packetId);
      expectEncoded(n, c.bytes, c.name);
      expect(packetSize(remainingLength)).toBe(n, c.name + ": packetSize");
    }
  });

  test("decodes what it encodes", () => {
    for (let i = 0; i < PUBLISHES.length; i++) {
      let c = PUBLISHES[i];
      let packet = placePacket(c.bytes, c.name);
      expect(checkServerHeader5(packet.header)).toBe(REASON_SUCCESS, c.name + ": header");
      clearDecoded();
      expect(decodePublish5(packet.header, packet.body, packet.len, ALIAS_MAXIMUM)).toBe(REASON_SUCCESS, c.name);
      expect(decoded.qos).toBe(c.qos, c.name + ": qos");
      expect(decoded.retain).toBe(c.retain, c.name + ": retain");
      expect(decoded.packetId).toBe(c.packetId, c.name + ": packetId");
      expect(bytesAt(decoded.topicPtr, decoded.topicLen)).toStrictEqual(c.topic, c.name + ": topic");
      expect(bytesAt(properties.contentPtr, properties.contentLen)).toStrictEqual(c.props, c.name + ": properties");
      expect(bytesAt(decoded.payloadPtr, decoded.payloadLen)).toStrictEqual(c.payload, c.name + ": payload");
    }
  });

  test("the Topic Alias, Subscription Identifiers and User Properties are found", () => {
    let packet = placePacket([
      0x30, 0x11, // PUBLISH QoS 0, remaining length 17
      0x00, 0x01, 0x74, // topic name "t"
      0x0c, // property length 12
      0x23, 0x00, 0x0a, // Topic Alias 10, the most the client accepts
      0x0b, 0x01, // Subscription Identifier 1
      0x0b, 0x02, // Subscription Identifier 2 (a PUBLISH may carry several)
      0x26, 0x00, 0x00, 0x00, 0x00, // User Property "" = ""
      0x21, // payload: one byte that is no property
    ], "aliased");
    expect(decodePublish5(packet.header, packet.body, packet.len, ALIAS_MAXIMUM)).toBe(REASON_SUCCESS);
    expect(properties.topicAlias).toBe(10);
    expect(properties.subscriptionIdentifierCount).toBe(2);
    expect(properties.userPropertyCount).toBe(1);
    expect(bytesAt(decoded.payloadPtr, decoded.payloadLen)).toStrictEqual([0x21] as u8[]);
  });
});

// ---- PUBACK, PUBREC, PUBREL, PUBCOMP (§3.4–§3.7) ----------------------------------------

class AckCase {
  constructor(
    public name: string,
    public type: u8,
    public packetId: u32,
    public reasonCode: u32,
    public props: u8[],
    public bytes: u8[],
  ) {}
}

const ACKS: AckCase[] = [
  new AckCase("PUBACK success: the 3.1.1 form (§3.4.2.1)", PUBACK, 1, 0x00, [], [
    0x40, 0x02, // PUBACK, remaining length 2
    0x00, 0x01, // packet id 1; reason code and properties left out
  ]),
  new AckCase("PUBACK No matching subscribers, no properties", PUBACK, 1, 0x10, [], [
    0x40, 0x03, // PUBACK, remaining length 3
    0x00, 0x01, // packet id 1
    0x10, // reason code No matching subscribers; property length left out
  ]),
  new AckCase("PUBACK success with properties", PUBACK, 9, 0x00, [0x1f, 0x00, 0x00], [
    0x40, 0x07, // PUBACK, remaining length 7
    0x00, 0x09, // packet id 9
    0x00, // reason code Success
    0x03, // property length 3
    0x1f, 0x00, 0x00, // Reason String ""
  ]),
  new AckCase("PUBREC Unspecified error with a Reason String", PUBREC, 2, 0x80, [0x1f, 0x00, 0x01, 0x65], [
    0x50, 0x08, // PUBREC, remaining length 8
    0x00, 0x02, // packet id 2
    0x80, // reason code Unspecified error
    0x04, // property length 4
    0x1f, 0x00, 0x01, 0x65, // Reason String "e"
  ]),
  new AckCase("PUBREL success with a User Property", PUBREL, 3, 0x00, [0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x76], [
    0x62, 0x0b, // PUBREL (flags 0010), remaining length 11
    0x00, 0x03, // packet id 3
    0x00, // reason code Success
    0x07, // property length 7
    0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x76, // User Property "k" = "v"
  ]),
  new AckCase("PUBREL Packet Identifier not found", PUBREL, 3, 0x92, [], [
    0x62, 0x03, // PUBREL, remaining length 3
    0x00, 0x03, // packet id 3
    0x92, // reason code Packet Identifier not found
  ]),
  new AckCase("PUBCOMP success", PUBCOMP, 0xffff, 0x00, [], [
    0x70, 0x02, // PUBCOMP, remaining length 2
    0xff, 0xff, // packet id 65535
  ]),
];

describe("PUBACK, PUBREC, PUBREL, PUBCOMP", () => {
  test("encode leaving out what says nothing", () => {
    for (let i = 0; i < ACKS.length; i++) {
      let c = ACKS[i];
      clearOut();
      let n = encodeAck5(out, c.type, c.packetId, c.reasonCode, place(c.props), c.props.length);
      expectEncoded(n, c.bytes, c.name);
      expect(packetSize(ack5RemainingLength(c.reasonCode, c.props.length))).toBe(n, c.name + ": packetSize");
    }
  });

  test("decode each form", () => {
    for (let i = 0; i < ACKS.length; i++) {
      let c = ACKS[i];
      let packet = placePacket(c.bytes, c.name);
      clearDecoded();
      expect(decodeAck5(c.type, packet.body, packet.len)).toBe(REASON_SUCCESS, c.name);
      expect(decoded.packetId).toBe(c.packetId, c.name + ": packetId");
      expect(decoded5.reasonCode).toBe(c.reasonCode, c.name + ": reason code");
      expect(bytesAt(properties.contentPtr, properties.contentLen)).toStrictEqual(c.props, c.name + ": properties");
      expect(properties.present == 0).toBe(c.props.length == 0, c.name + ": properties present");
    }
  });
});

// ---- SUBSCRIBE, UNSUBSCRIBE (§3.8, §3.10) ------------------------------------------------

describe("SUBSCRIBE and UNSUBSCRIBE", () => {
  test("Subscription Options: QoS, No Local, Retain As Published, Retain Handling (§3.8.3.1)", () => {
    expect(subscriptionOptions(1, false, false, RETAIN_HANDLING_SEND)).toBe(0x01);
    expect(subscriptionOptions(0, false, true, RETAIN_HANDLING_SEND_IF_NEW)).toBe(0x18);
    expect(subscriptionOptions(2, true, true, RETAIN_HANDLING_DO_NOT_SEND)).toBe(0x2e);
    expect(subscriptionOptions(0, true, false, RETAIN_HANDLING_SEND)).toBe(<i32>OPTION_NO_LOCAL);
    expect(subscriptionOptions(0, false, true, RETAIN_HANDLING_SEND)).toBe(<i32>OPTION_RETAIN_AS_PUBLISHED);
    expect(subscriptionOptions(3, false, false, RETAIN_HANDLING_SEND)).toBe(INVALID_QOS, "QoS 3");
    expect(subscriptionOptions(0, false, false, 3)).toBe(INVALID_ARGUMENT, "Retain Handling 3");
  });

  test("SUBSCRIBE with a Subscription Identifier and two filters", () => {
    let props: u8[] = [0x0b, 0x01]; // Subscription Identifier 1
    let remainingLength = subscribe5RemainingLength((2 + 3 + 1) + (2 + 1 + 1), props.length);
    clearOut();
    let n = writeSubscribe5Header(out, SUBSCRIBE, remainingLength, 10, place(props), props.length);
    n += writeSubscription(out + n, place([0x61, 0x2f, 0x23]), 3, 0x01);
    n += writeSubscription(out + n, place([0x62]), 1, <u8>subscriptionOptions(2, true, true, RETAIN_HANDLING_DO_NOT_SEND));
    expectEncoded(n, [
      0x82, 0x0f, // SUBSCRIBE (flags 0010), remaining length 15
      0x00, 0x0a, // packet id 10
      0x02, // property length 2
      0x0b, 0x01, // Subscription Identifier 1
      0x00, 0x03, 0x61, 0x2f, 0x23, // filter "a/#"
      0x01, // options: QoS 1
      0x00, 0x01, 0x62, // filter "b"
      0x2e, // options: Retain Handling 2, Retain As Published, No Local, QoS 2
    ], "SUBSCRIBE");
    expect(packetSize(remainingLength)).toBe(n);
    expect(decodeProperties(SUBSCRIBE, out + 4, 3)).toBe(REASON_SUCCESS, "its properties decode as SUBSCRIBE properties");
    expect(properties.subscriptionIdentifier).toBe(1);
  });

  test("UNSUBSCRIBE with a User Property", () => {
    let props: u8[] = [0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x76]; // User Property "k" = "v"
    let remainingLength = subscribe5RemainingLength(2 + 3, props.length);
    clearOut();
    let n = writeSubscribe5Header(out, UNSUBSCRIBE, remainingLength, 11, place(props), props.length);
    n += writeField(out + n, place([0x61, 0x2f, 0x23]), 3);
    expectEncoded(n, [
      0xa2, 0x0f, // UNSUBSCRIBE (flags 0010), remaining length 15
      0x00, 0x0b, // packet id 11
      0x07, // property length 7
      0x26, 0x00, 0x01, 0x6b, 0x00, 0x01, 0x76, // User Property "k" = "v"
      0x00, 0x03, 0x61, 0x2f, 0x23, // filter "a/#"
    ], "UNSUBSCRIBE");
    expect(packetSize(remainingLength)).toBe(n);
  });
});

// ---- SUBACK, UNSUBACK (§3.9, §3.11) -----------------------------------------------------

describe("SUBACK and UNSUBACK", () => {
  test("SUBACK with one granted QoS", () => {
    let packet = placePacket([
      0x90, 0x04, // SUBACK, remaining length 4
      0x00, 0x0a, // packet id 10
      0x00, // property length 0
      0x01, // Granted QoS 1
    ], "SUBACK");
    clearDecoded();
    expect(decodeSuback5(SUBACK, packet.body, packet.len)).toBe(REASON_SUCCESS);
    expect(decoded.packetId).toBe(10);
    expect(bytesAt(decoded.codesPtr, decoded.codesLen)).toStrictEqual([0x01] as u8[]);
  });

  test("SUBACK with a Reason String and three codes", () => {
    let packet = placePacket([
      0x90, 0x0a, // SUBACK, remaining length 10
      0x00, 0x0a, // packet id 10
      0x04, // property length 4
      0x1f, 0x00, 0x01, 0x78, // Reason String "x"
      0x00, // Granted QoS 0
      0x02, // Granted QoS 2
      0xa2, // Wildcard Subscriptions not supported
    ], "SUBACK");
    clearDecoded();
    expect(decodeSuback5(SUBACK, packet.body, packet.len)).toBe(REASON_SUCCESS);
    expect(bytesAt(decoded.codesPtr, decoded.codesLen)).toStrictEqual([0x00, 0x02, 0xa2] as u8[]);
    expect(hasProperty(REASON_STRING)).toBe(true);
  });

  test("UNSUBACK with a code per filter", () => {
    let packet = placePacket([
      0xb0, 0x05, // UNSUBACK, remaining length 5
      0x00, 0x0b, // packet id 11
      0x00, // property length 0
      0x00, // Success
      0x11, // No subscription existed
    ], "UNSUBACK");
    clearDecoded();
    expect(decodeSuback5(UNSUBACK, packet.body, packet.len)).toBe(REASON_SUCCESS);
    expect(decoded.packetId).toBe(11);
    expect(bytesAt(decoded.codesPtr, decoded.codesLen)).toStrictEqual([0x00, 0x11] as u8[]);
  });
});

// ---- DISCONNECT (§3.14) ---------------------------------------------------------------

class DisconnectCase {
  constructor(public name: string, public reasonCode: u32, public props: u8[], public bytes: u8[]) {}
}

const DISCONNECTS: DisconnectCase[] = [
  new DisconnectCase("normal disconnection: the 3.1.1 form (§3.14.2.1)", 0x00, [], [
    0xe0, 0x00, // DISCONNECT, remaining length 0
  ]),
  new DisconnectCase("a code alone", 0x04, [], [
    0xe0, 0x01, // DISCONNECT, remaining length 1
    0x04, // reason code Disconnect with Will Message; property length left out
  ]),
  new DisconnectCase("Malformed Packet with a Reason String", 0x81, [0x1f, 0x00, 0x01, 0x6d], [
    0xe0, 0x06, // DISCONNECT, remaining length 6
    0x81, // reason code Malformed Packet
    0x04, // property length 4
    0x1f, 0x00, 0x01, 0x6d, // Reason String "m"
  ]),
  new DisconnectCase("Server moved with a Server Reference", 0x9d, [0x1c, 0x00, 0x02, 0x68, 0x32], [
    0xe0, 0x07, // DISCONNECT, remaining length 7
    0x9d, // reason code Server moved
    0x05, // property length 5
    0x1c, 0x00, 0x02, 0x68, 0x32, // Server Reference "h2"
  ]),
];

describe("DISCONNECT", () => {
  test("encodes leaving out what says nothing, and decodes it again", () => {
    for (let i = 0; i < DISCONNECTS.length; i++) {
      let c = DISCONNECTS[i];
      clearOut();
      let n = encodeDisconnect5(out, c.reasonCode, place(c.props), c.props.length);
      expectEncoded(n, c.bytes, c.name);
      expect(packetSize(disconnect5RemainingLength(c.reasonCode, c.props.length))).toBe(n, c.name + ": packetSize");
      let packet = placePacket(c.bytes, c.name);
      clearDecoded();
      expect(decodeDisconnect5(packet.body, packet.len)).toBe(REASON_SUCCESS, c.name + ": decode");
      expect(decoded5.reasonCode).toBe(c.reasonCode, c.name + ": reason code");
      expect(bytesAt(properties.contentPtr, properties.contentLen)).toStrictEqual(c.props, c.name + ": properties");
    }
  });

  test("the client's DISCONNECT may carry a Session Expiry Interval, the server's may not ([MQTT-3.14.2-2])", () => {
    let props: u8[] = [0x11, 0x00, 0x00, 0x00, 0x00]; // Session Expiry Interval 0
    clearOut();
    let n = encodeDisconnect5(out, 0x00, place(props), props.length);
    expectEncoded(n, [
      0xe0, 0x07, // DISCONNECT, remaining length 7
      0x00, // reason code Normal disconnection
      0x05, // property length 5
      0x11, 0x00, 0x00, 0x00, 0x00, // Session Expiry Interval 0
    ], "with Session Expiry Interval");
    expect(decodeDisconnect5(out + 2, 7)).toBe(REASON_PROTOCOL_ERROR);
  });
});

// ---- AUTH (§3.15) ---------------------------------------------------------------------

describe("AUTH", () => {
  test("success with everything left out (§3.15.2.1)", () => {
    let packet = placePacket([0xf0, 0x00], "AUTH"); // AUTH, remaining length 0
    clearDecoded();
    expect(decodeAuth(packet.body, packet.len)).toBe(REASON_SUCCESS);
    expect(decoded5.reasonCode).toBe(REASON_SUCCESS);
    expect(properties.present).toBe(0);
  });

  test("Continue authentication with its method", () => {
    let packet = placePacket([
      0xf0, 0x07, // AUTH, remaining length 7
      0x18, // reason code Continue authentication
      0x05, // property length 5
      0x15, 0x00, 0x02, 0x4d, 0x31, // Authentication Method "M1"
    ], "AUTH");
    clearDecoded();
    expect(decodeAuth(packet.body, packet.len)).toBe(REASON_SUCCESS);
    expect(decoded5.reasonCode).toBe(0x18);
    expect(bytesAt(properties.authenticationMethodPtr, properties.authenticationMethodLen)).toStrictEqual(utf8("M1"));
    expect(hasProperty(AUTHENTICATION_METHOD)).toBe(true);
  });

  test("Re-authenticate without properties", () => {
    let packet = placePacket([
      0xf0, 0x02, // AUTH, remaining length 2
      0x19, // reason code Re-authenticate
      0x00, // property length 0
    ], "AUTH");
    expect(decodeAuth(packet.body, packet.len)).toBe(REASON_SUCCESS);
    expect(decoded5.reasonCode).toBe(0x19);
  });
});

// ---- malformed and invalid packets --------------------------------------------------------

class BadPacket {
  constructor(public name: string, public bytes: u8[], public reason: u8) {}
}

const BAD_PACKETS: BadPacket[] = [
  // CONNACK
  new BadPacket("CONNACK without its Property Length", [0x20, 0x02, 0x00, 0x00], REASON_MALFORMED_PACKET),
  new BadPacket("CONNACK of 3.1.1, return code 1", [0x20, 0x02, 0x00, 0x01], REASON_MALFORMED_PACKET),
  new BadPacket("CONNACK of one byte", [0x20, 0x01, 0x00], REASON_MALFORMED_PACKET),
  new BadPacket("CONNACK reserved flag bit (§3.2.2.1)", [0x20, 0x03, 0x02, 0x00, 0x00], REASON_MALFORMED_PACKET),
  new BadPacket("CONNACK session present with a refusal ([MQTT-3.2.2-6])", [0x20, 0x03, 0x01, 0x87, 0x00], REASON_PROTOCOL_ERROR),
  new BadPacket("CONNACK with a SUBACK code", [0x20, 0x03, 0x00, 0x01, 0x00], REASON_PROTOCOL_ERROR),
  new BadPacket("CONNACK with a DISCONNECT-only code", [0x20, 0x03, 0x00, 0x8b, 0x00], REASON_PROTOCOL_ERROR),
  new BadPacket("CONNACK with an unknown code", [0x20, 0x03, 0x00, 0x05, 0x00], REASON_PROTOCOL_ERROR),
  new BadPacket("CONNACK with a byte after its properties", [0x20, 0x04, 0x00, 0x00, 0x00, 0xff], REASON_MALFORMED_PACKET),
  new BadPacket("CONNACK properties past the packet", [0x20, 0x03, 0x00, 0x00, 0x05], REASON_MALFORMED_PACKET),
  new BadPacket("CONNACK property length of five bytes", [0x20, 0x07, 0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x00], REASON_MALFORMED_PACKET),
  new BadPacket("CONNACK with a Topic Alias (not allowed there)", [0x20, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x01], REASON_MALFORMED_PACKET),
  new BadPacket("CONNACK with Maximum QoS twice", [0x20, 0x07, 0x00, 0x00, 0x04, 0x24, 0x00, 0x24, 0x00], REASON_PROTOCOL_ERROR),
  new BadPacket("CONNACK with Retain Available 2", [0x20, 0x05, 0x00, 0x00, 0x02, 0x25, 0x02], REASON_PROTOCOL_ERROR),
  new BadPacket("CONNACK Reason String not UTF-8", [0x20, 0x07, 0x00, 0x80, 0x04, 0x1f, 0x00, 0x01, 0xfe], REASON_MALFORMED_PACKET),
  // PUBLISH
  new BadPacket("PUBLISH without its Property Length", [0x30, 0x03, 0x00, 0x01, 0x74], REASON_MALFORMED_PACKET),
  new BadPacket("PUBLISH truncated topic", [0x30, 0x03, 0x00, 0x05, 0x74], REASON_MALFORMED_PACKET),
  new BadPacket("PUBLISH QoS 1 zero packet id", [0x32, 0x06, 0x00, 0x01, 0x74, 0x00, 0x00, 0x00], REASON_MALFORMED_PACKET),
  new BadPacket("PUBLISH properties past the packet", [0x30, 0x05, 0x00, 0x01, 0x74, 0x05, 0x23], REASON_MALFORMED_PACKET),
  new BadPacket("PUBLISH empty topic without a Topic Alias (§3.3.2.3.4)", [0x30, 0x03, 0x00, 0x00, 0x00], REASON_PROTOCOL_ERROR),
  new BadPacket("PUBLISH Topic Alias 0", [0x30, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x00], REASON_TOPIC_ALIAS_INVALID),
  new BadPacket("PUBLISH Topic Alias above the client's maximum", [0x30, 0x06, 0x00, 0x00, 0x03, 0x23, 0x00, 0x0b], REASON_TOPIC_ALIAS_INVALID),
  new BadPacket("PUBLISH topic with a wildcard", [0x30, 0x06, 0x00, 0x03, 0x61, 0x2f, 0x2b, 0x00], REASON_MALFORMED_PACKET),
  new BadPacket("PUBLISH topic not UTF-8", [0x30, 0x04, 0x00, 0x01, 0xff, 0x00], REASON_MALFORMED_PACKET),
  new BadPacket("PUBLISH with Receive Maximum (not allowed there)", [0x30, 0x07, 0x00, 0x01, 0x74, 0x03, 0x21, 0x00, 0x01], REASON_MALFORMED_PACKET),
  new BadPacket("PUBLISH Subscription Identifier 0", [0x30, 0x06, 0x00, 0x01, 0x74, 0x02, 0x0b, 0x00], REASON_PROTOCOL_ERROR),
  new BadPacket("PUBLISH Payload Format Indicator 2", [0x30, 0x06, 0x00, 0x01, 0x74, 0x02, 0x01, 0x02], REASON_PROTOCOL_ERROR),
  new BadPacket("PUBLISH Subscription Identifier of five bytes", [0x30, 0x0a, 0x00, 0x01, 0x74, 0x06, 0x0b, 0x81, 0x80, 0x80, 0x80, 0x01], REASON_MALFORMED_PACKET),
  new BadPacket("PUBLISH Topic Alias twice", [0x30, 0x0a, 0x00, 0x01, 0x74, 0x06, 0x23, 0x00, 0x01, 0x23, 0x00, 0x01], REASON_PROTOCOL_ERROR),
  new BadPacket("PUBLISH Content Type not UTF-8", [0x30, 0x08, 0x00, 0x01, 0x74, 0x04, 0x03, 0x00, 0x01, 0xff], REASON_MALFORMED_PACKET),
  // PUBACK, PUBREC, PUBREL, PUBCOMP
  new BadPacket("PUBACK empty", [0x40, 0x00], REASON_MALFORMED_PACKET),
  new BadPacket("PUBACK of one byte", [0x40, 0x01, 0x00], REASON_MALFORMED_PACKET),
  new BadPacket("PUBACK zero packet id", [0x40, 0x02, 0x00, 0x00], REASON_MALFORMED_PACKET),
  new BadPacket("PUBACK with a PUBREL code", [0x40, 0x03, 0x00, 0x01, 0x92], REASON_PROTOCOL_ERROR),
  new BadPacket("PUBREL with a PUBACK code", [0x62, 0x03, 0x00, 0x01, 0x10], REASON_PROTOCOL_ERROR),
  new BadPacket("PUBCOMP Unspecified error (not a PUBCOMP code)", [0x70, 0x03, 0x00, 0x01, 0x80], REASON_PROTOCOL_ERROR),
  new BadPacket("PUBREC with a byte after its properties", [0x50, 0x05, 0x00, 0x01, 0x00, 0x00, 0xff], REASON_MALFORMED_PACKET),
  new BadPacket("PUBACK properties past the packet", [0x40, 0x04, 0x00, 0x01, 0x00, 0x05], REASON_MALFORMED_PACKET),
  new BadPacket("PUBACK with a Topic Alias (not allowed there)", [0x40, 0x07, 0x00, 0x01, 0x00, 0x03, 0x23, 0x00, 0x01], REASON_MALFORMED_PACKET),
  new BadPacket("PUBCOMP Reason String twice", [0x70, 0x0a, 0x00, 0x01, 0x00, 0x06, 0x1f, 0x00, 0x00, 0x1f, 0x00, 0x00], REASON_PROTOCOL_ERROR),
  new BadPacket("PUBACK property length of five bytes", [0x40, 0x08, 0x00, 0x01, 0x00, 0x80, 0x80, 0x80, 0x80, 0x00], REASON_MALFORMED_PACKET),
  new BadPacket("PUBREL Reason String not UTF-8", [0x62, 0x08, 0x00, 0x01, 0x00, 0x04, 0x1f, 0x00, 0x01, 0xc1], REASON_MALFORMED_PACKET),
  // SUBACK, UNSUBACK
  new BadPacket("SUBACK of two bytes", [0x90, 0x02, 0x00, 0x0a], REASON_MALFORMED_PACKET),
  new BadPacket("SUBACK without codes", [0x90, 0x03, 0x00, 0x0a, 0x00], REASON_MALFORMED_PACKET),
  new BadPacket("SUBACK zero packet id", [0x90, 0x04, 0x00, 0x00, 0x00, 0x00], REASON_MALFORMED_PACKET),
  new BadPacket("SUBACK with an UNSUBACK code", [0x90, 0x04, 0x00, 0x0a, 0x00, 0x11], REASON_PROTOCOL_ERROR),
  new BadPacket("SUBACK with code 3", [0x90, 0x04, 0x00, 0x0a, 0x00, 0x03], REASON_PROTOCOL_ERROR),
  new BadPacket("UNSUBACK with a SUBACK code", [0xb0, 0x04, 0x00, 0x0b, 0x00, 0x01], REASON_PROTOCOL_ERROR),
  new BadPacket("SUBACK properties past the packet", [0x90, 0x04, 0x00, 0x0a, 0x05, 0x00], REASON_MALFORMED_PACKET),
  new BadPacket("SUBACK with a Subscription Identifier (not allowed there)", [0x90, 0x06, 0x00, 0x0a, 0x02, 0x0b, 0x01, 0x00], REASON_MALFORMED_PACKET),
  new BadPacket("SUBACK property length of five bytes", [0x90, 0x08, 0x00, 0x0a, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00], REASON_MALFORMED_PACKET),
  new BadPacket("SUBACK Reason String twice", [0x90, 0x0a, 0x00, 0x0a, 0x06, 0x1f, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00], REASON_PROTOCOL_ERROR),
  new BadPacket("UNSUBACK Reason String not UTF-8", [0xb0, 0x08, 0x00, 0x0b, 0x04, 0x1f, 0x00, 0x01, 0xf8, 0x00], REASON_MALFORMED_PACKET),
  // DISCONNECT
  new BadPacket("DISCONNECT with a SUBACK code", [0xe0, 0x01, 0x01], REASON_PROTOCOL_ERROR),
  new BadPacket("DISCONNECT with a CONNACK-only code", [0xe0, 0x01, 0x84], REASON_PROTOCOL_ERROR),
  new BadPacket("DISCONNECT with a byte after its properties", [0xe0, 0x03, 0x00, 0x00, 0xff], REASON_MALFORMED_PACKET),
  new BadPacket("DISCONNECT properties past the packet", [0xe0, 0x02, 0x8b, 0x05], REASON_MALFORMED_PACKET),
  new BadPacket("DISCONNECT with Receive Maximum (not allowed there)", [0xe0, 0x05, 0x00, 0x03, 0x21, 0x00, 0x01], REASON_MALFORMED_PACKET),
  new BadPacket("DISCONNECT Server Reference not UTF-8", [0xe0, 0x06, 0x9c, 0x04, 0x1c, 0x00, 0x01, 0xc0], REASON_MALFORMED_PACKET),
  new BadPacket("DISCONNECT property length of five bytes", [0xe0, 0x06, 0x00, 0x80, 0x80, 0x80, 0x80, 0x00], REASON_MALFORMED_PACKET),
  new BadPacket("DISCONNECT Server Reference twice", [0xe0, 0x08, 0x9c, 0x06, 0x1c, 0x00, 0x00, 0x1c, 0x00, 0x00], REASON_PROTOCOL_ERROR),
  // AUTH
  new BadPacket("AUTH code without its Property Length", [0xf0, 0x01, 0x18], REASON_MALFORMED_PACKET),
  new BadPacket("AUTH with a non-AUTH code", [0xf0, 0x02, 0x80, 0x00], REASON_PROTOCOL_ERROR),
  new BadPacket("AUTH data without method", [0xf0, 0x06, 0x18, 0x04, 0x16, 0x00, 0x01, 0x01], REASON_PROTOCOL_ERROR),
  new BadPacket("AUTH with a byte after its properties", [0xf0, 0x03, 0x18, 0x00, 0xff], REASON_MALFORMED_PACKET),
  new BadPacket("AUTH property length of five bytes", [0xf0, 0x06, 0x18, 0x80, 0x80, 0x80, 0x80, 0x00], REASON_MALFORMED_PACKET),
  new BadPacket("AUTH Authentication Method twice", [0xf0, 0x08, 0x18, 0x06, 0x15, 0x00, 0x00, 0x15, 0x00, 0x00], REASON_PROTOCOL_ERROR),
  new BadPacket("AUTH with a Topic Alias (not allowed there)", [0xf0, 0x05, 0x18, 0x03, 0x23, 0x00, 0x01], REASON_MALFORMED_PACKET),
  new BadPacket("AUTH Authentication Method not UTF-8", [0xf0, 0x06, 0x18, 0x04, 0x15, 0x00, 0x01, 0x00], REASON_MALFORMED_PACKET),
];

describe("malformed and invalid packets", () => {
  test("each returns the Reason Code to DISCONNECT with", () => {
    for (let i = 0; i < BAD_PACKETS.length; i++) {
      let c = BAD_PACKETS[i];
      let packet = placePacket(c.bytes, c.name);
      expect(checkServerHeader5(packet.header)).toBe(REASON_SUCCESS, c.name + ": header");
      expect(decode5(packet)).toBe(<u32>c.reason, c.name);
    }
  });

  test("a Subscription Identifier twice is fine in PUBLISH", () => {
    let packet = placePacket([0x30, 0x08, 0x00, 0x01, 0x74, 0x04, 0x0b, 0x01, 0x0b, 0x02], "two ids");
    expect(decode5(packet)).toBe(REASON_SUCCESS);
    expect(hasProperty(SUBSCRIPTION_IDENTIFIER) && hasProperty(USER_PROPERTY) == false).toBe(true);
  });

  test("an omitted property block leaves no property of an earlier packet behind", () => {
    let withProps = placePacket([0x40, 0x07, 0x00, 0x01, 0x00, 0x03, 0x1f, 0x00, 0x00], "with a Reason String");
    expect(decode5(withProps)).toBe(REASON_SUCCESS);
    expect(hasProperty(REASON_STRING)).toBe(true);
    let bare = placePacket([0x40, 0x02, 0x00, 0x01], "bare");
    expect(decode5(bare)).toBe(REASON_SUCCESS);
    expect(hasProperty(REASON_STRING)).toBe(false);
    expect(properties.contentLen).toBe(0);
  });
});
