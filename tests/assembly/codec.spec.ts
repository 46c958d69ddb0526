// Specs for assembly/codec.ts: every encoder compared with hand-written bytes and
// decoded again, every decoder fed well-formed, too-short, too-long and malformed
// packets. Fixtures are whole packets (fixed header first), annotated field by field.
import {
  CONNECT, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, PINGREQ, DISCONNECT,
  CONNECT_FLAG_CLEAN_SESSION, CONNECT_FLAG_WILL, CONNECT_FLAG_WILL_RETAIN, CONNECT_FLAG_PASSWORD, CONNECT_FLAG_USERNAME,
  MAX_REMAINING_LENGTH, NEED_MORE, Decoded, decoded,
  remainingLengthSize, encodeRemainingLength, decodeRemainingLength, writeField, writeFixedHeader, packetSize,
  connectRemainingLength, writeConnectHeader, publishRemainingLength, encodePublish, setDup, encodeAck, encodeEmpty,
  checkServerHeader, decodeConnack, decodePublish, decodePublishHead, decodeAck, decodeSuback, decodePingresp,
  remainingLengthOf, packetIdOf,
} from "../../assembly/codec";
import { OK, MALFORMED_PACKET, PROTOCOL_ERROR } from "../../assembly/status";
import { place, utf8, repeat, bytesAt, resetFixtures } from "./support/bytes";
import { out, clearOut, expectEncoded, placePacket, fieldLength, writeText } from "./support/packets";

// Will QoS bits of the CONNECT flags (§3.1.2.6); the codec leaves them to the caller.
const WILL_QOS_1: u8 = 0x08;
const WILL_QOS_2: u8 = 0x10;

/** Fills the decode results with a pattern no decoder writes, so stale values cannot pass. */
function clearDecoded(): void {
  memory.fill(changetype<usize>(decoded), 0xaa, offsetof<Decoded>());
}

beforeEach(resetFixtures);

// ---- Remaining Length (§2.2.3) ----------------------------------------------

class LengthCase {
  constructor(public value: u32, public bytes: u8[]) {}
}

const REMAINING_LENGTHS: LengthCase[] = [
  new LengthCase(0, [0x00]), // smallest one-byte form
  new LengthCase(127, [0x7f]), // largest one-byte form
  new LengthCase(128, [0x80, 0x01]), // smallest two-byte form
  new LengthCase(16383, [0xff, 0x7f]), // largest two-byte form
  new LengthCase(16384, [0x80, 0x80, 0x01]), // smallest three-byte form
  new LengthCase(2097151, [0xff, 0xff, 0x7f]), // largest three-byte form
  new LengthCase(2097152, [0x80, 0x80, 0x80, 0x01]), // smallest four-byte form
  new LengthCase(268435455, [0xff, 0xff, 0xff, 0x7f]), // largest four-byte form, MAX_REMAINING_LENGTH
];

describe("Remaining Length", () => {
  test("encodes each boundary value in its exact bytes", () => {
    for (let i = 0; i < REMAINING_LENGTHS.length; i++) {
      let c = REMAINING_LENGTHS[i];
      let name = "remaining length " + c.value.toString();
      clearOut();
      expectEncoded(encodeRemainingLength(out, c.value), c.bytes, name);
      expect(remainingLengthSize(c.value)).toBe(<u32>c.bytes.length, name + ": remainingLengthSize");
    }
  });

  test("decodes each boundary value and the number of bytes it took", () => {
    for (let i = 0; i < REMAINING_LENGTHS.length; i++) {
      let c = REMAINING_LENGTHS[i];
      let name = "remaining length " + c.value.toString();
      clearDecoded();
      expect(decodeRemainingLength(place(c.bytes), c.bytes.length)).toBe(OK, name);
      expect(decoded.remainingLength).toBe(c.value, name + ": value");
      expect(decoded.lengthBytes).toBe(<u32>c.bytes.length, name + ": lengthBytes");
    }
  });

  test("MAX_REMAINING_LENGTH is the largest four-byte value", () => {
    expect(MAX_REMAINING_LENGTH).toBe(268435455);
    expect(remainingLengthSize(MAX_REMAINING_LENGTH)).toBe(4);
  });

  test("stops at the last length byte and leaves the body alone", () => {
    let ptr = place([
      0x80, 0x01, // remaining length 128
      0xff, // first body byte, which has the continuation bit set
    ]);
    clearDecoded();
    expect(decodeRemainingLength(ptr, 3)).toBe(OK);
    expect(decoded.remainingLength).toBe(128);
    expect(decoded.lengthBytes).toBe(2);
  });

  test("NEED_MORE when the bytes end inside the field", () => {
    expect(decodeRemainingLength(place([]), 0)).toBe(NEED_MORE, "no bytes at all");
    for (let i = 0; i < REMAINING_LENGTHS.length; i++) {
      let c = REMAINING_LENGTHS[i];
      // every proper prefix of a multi-byte form ends on a continuation bit
      for (let have = 0; have < c.bytes.length; have++) {
        clearDecoded();
        let status = decodeRemainingLength(place(c.bytes), have);
        expect(status).toBe(NEED_MORE, c.value.toString() + " cut to " + have.toString() + " bytes");
        expect(decoded.lengthBytes).toBe(0xaaaaaaaa, "no result on NEED_MORE");
      }
    }
  });

  test("MALFORMED_PACKET for a five-byte form", () => {
    let fiveBytes = place([
      0xff, 0xff, 0xff, 0xff, // four bytes, the fourth still has the continuation bit
      0x7f, // a fifth byte is not allowed
    ]);
    expect(decodeRemainingLength(fiveBytes, 5)).toBe(MALFORMED_PACKET, "0xff 0xff 0xff 0xff 0x7f");
    expect(decodeRemainingLength(fiveBytes, 4)).toBe(MALFORMED_PACKET, "known malformed after the fourth byte");
    let fiveByteOne = place([0x80, 0x80, 0x80, 0x80, 0x01]); // 268435456 in five bytes
    expect(decodeRemainingLength(fiveByteOne, 5)).toBe(MALFORMED_PACKET, "0x80 0x80 0x80 0x80 0x01");
  });

  test("packetSize and remainingLengthOf are inverses at every boundary", () => {
    for (let i = 0; i < REMAINING_LENGTHS.length; i++) {
      let c = REMAINING_LENGTHS[i];
      let size = 1 + <u32>c.bytes.length + c.value; // header byte, length field, body
      expect(packetSize(c.value)).toBe(size, c.value.toString() + ": packetSize");
      expect(remainingLengthOf(size)).toBe(c.value, c.value.toString() + ": remainingLengthOf");
    }
  });

  test("writeFixedHeader writes the type byte and the length", () => {
    clearOut();
    let n = writeFixedHeader(out, 0x32, 321);
    expectEncoded(n, [
      0x32, // PUBLISH, QoS 1
      0xc1, 0x02, // remaining length 321
    ], "fixed header");
  });
});

// ---- CONNECT (§3.1) -----------------------------------------------------------

class ConnectCase {
  constructor(
    public name: string,
    public flags: u8,
    public keepaliveSec: u32,
    public clientId: string,
    public willTopic: string | null,
    public willMessage: string | null,
    public username: string | null,
    public password: string | null,
    public bytes: u8[],
  ) {}
}

/** A whole CONNECT built from the codec's pieces, in the §3.1.3 payload order. */
function encodeConnect(c: ConnectCase): u32 {
  let remainingLength = connectRemainingLength(
    String.UTF8.byteLength(c.clientId), fieldLength(c.willTopic), fieldLength(c.willMessage),
    fieldLength(c.username), fieldLength(c.password),
  );
  let n = writeFixedHeader(out, CONNECT << 4, remainingLength);
  let header = writeConnectHeader(out + n, c.flags, c.keepaliveSec);
  expect(header).toBe(10, c.name + ": variable header size");
  n += header;
  n += writeText(out + n, c.clientId);
  n += writeText(out + n, c.willTopic);
  n += writeText(out + n, c.willMessage);
  n += writeText(out + n, c.username);
  n += writeText(out + n, c.password);
  expect(n).toBe(packetSize(remainingLength), c.name + ": packetSize");
  return n;
}

const CONNECTS: ConnectCase[] = [
  new ConnectCase("clean session", CONNECT_FLAG_CLEAN_SESSION, 60, "c", null, null, null, null, [
    0x10, 0x0d, // CONNECT, remaining length 13
    0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
    0x04, // protocol level 4 (3.1.1)
    0x02, // connect flags: clean session
    0x00, 0x3c, // keep alive 60 s
    0x00, 0x01, 0x63, // client identifier "c"
  ]),
  new ConnectCase("persistent session, keep alive off", 0, 0, "dev1", null, null, null, null, [
    0x10, 0x10, // CONNECT, remaining length 16
    0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
    0x04, // protocol level 4
    0x00, // connect flags: none
    0x00, 0x00, // keep alive 0 (off)
    0x00, 0x04, 0x64, 0x65, 0x76, 0x31, // client identifier "dev1"
  ]),
  new ConnectCase("empty client identifier", CONNECT_FLAG_CLEAN_SESSION, 30, "", null, null, null, null, [
    0x10, 0x0c, // CONNECT, remaining length 12
    0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
    0x04, // protocol level 4
    0x02, // connect flags: clean session
    0x00, 0x1e, // keep alive 30 s
    0x00, 0x00, // client identifier "" (zero length)
  ]),
  new ConnectCase("longest keep alive", CONNECT_FLAG_CLEAN_SESSION, 65535, "c", null, null, null, null, [
    0x10, 0x0d, // CONNECT, remaining length 13
    0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
    0x04, // protocol level 4
    0x02, // connect flags: clean session
    0xff, 0xff, // keep alive 65535 s
    0x00, 0x01, 0x63, // client identifier "c"
  ]),
  new ConnectCase("will QoS 0", CONNECT_FLAG_CLEAN_SESSION | CONNECT_FLAG_WILL, 60, "c", "w", "bye", null, null, [
    0x10, 0x15, // CONNECT, remaining length 21
    0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
    0x04, // protocol level 4
    0x06, // connect flags: will, clean session
    0x00, 0x3c, // keep alive 60 s
    0x00, 0x01, 0x63, // client identifier "c"
    0x00, 0x01, 0x77, // will topic "w"
    0x00, 0x03, 0x62, 0x79, 0x65, // will message "bye"
  ]),
  new ConnectCase("will QoS 1", CONNECT_FLAG_CLEAN_SESSION | CONNECT_FLAG_WILL | WILL_QOS_1, 60, "c", "w", "bye", null, null, [
    0x10, 0x15, // CONNECT, remaining length 21
    0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
    0x04, // protocol level 4
    0x0e, // connect flags: will QoS 1, will, clean session
    0x00, 0x3c, // keep alive 60 s
    0x00, 0x01, 0x63, // client identifier "c"
    0x00, 0x01, 0x77, // will topic "w"
    0x00, 0x03, 0x62, 0x79, 0x65, // will message "bye"
  ]),
  new ConnectCase("will QoS 2 retained", CONNECT_FLAG_CLEAN_SESSION | CONNECT_FLAG_WILL | WILL_QOS_2 | CONNECT_FLAG_WILL_RETAIN, 60, "c", "w", "bye", null, null, [
    0x10, 0x15, // CONNECT, remaining length 21
    0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
    0x04, // protocol level 4
    0x36, // connect flags: will retain, will QoS 2, will, clean session
    0x00, 0x3c, // keep alive 60 s
    0x00, 0x01, 0x63, // client identifier "c"
    0x00, 0x01, 0x77, // will topic "w"
    0x00, 0x03, 0x62, 0x79, 0x65, // will message "bye"
  ]),
  new ConnectCase("user name", CONNECT_FLAG_CLEAN_SESSION | CONNECT_FLAG_USERNAME, 60, "c", null, null, "u", null, [
    0x10, 0x10, // CONNECT, remaining length 16
    0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
    0x04, // protocol level 4
    0x82, // connect flags: user name, clean session
    0x00, 0x3c, // keep alive 60 s
    0x00, 0x01, 0x63, // client identifier "c"
    0x00, 0x01, 0x75, // user name "u"
  ]),
  new ConnectCase("user name and password", CONNECT_FLAG_CLEAN_SESSION | CONNECT_FLAG_USERNAME | CONNECT_FLAG_PASSWORD, 60, "c", null, null, "u", "p", [
    0x10, 0x13, // CONNECT, remaining length 19
    0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
    0x04, // protocol level 4
    0xc2, // connect flags: user name, password, clean session
    0x00, 0x3c, // keep alive 60 s
    0x00, 0x01, 0x63, // client identifier "c"
    0x00, 0x01, 0x75, // user name "u"
    0x00, 0x01, 0x70, // password "p"
  ]),
  new ConnectCase("every flag", CONNECT_FLAG_USERNAME | CONNECT_FLAG_PASSWORD | CONNECT_FLAG_WILL_RETAIN | WILL_QOS_1 | CONNECT_FLAG_WILL | CONNECT_FLAG_CLEAN_SESSION, 60, "c", "w", "bye", "u", "p", [
    0x10, 0x1b, // CONNECT, remaining length 27
    0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // protocol name "MQTT"
    0x04, // protocol level 4
    0xee, // connect flags: user name, password, will retain, will QoS 1, will, clean session
    0x00, 0x3c, // keep alive 60 s
    0x00, 0x01, 0x63, // client identifier "c"
    0x00, 0x01, 0x77, // will topic "w"
    0x00, 0x03, 0x62, 0x79, 0x65, // will message "bye"
    0x00, 0x01, 0x75, // user name "u"
    0x00, 0x01, 0x70, // password "p"
  ]),
];

describe("CONNECT", () => {
  test("encodes each flag combination in its exact bytes", () => {
    for (let i = 0; i < CONNECTS.length; i++) {
      let c = CONNECTS[i];
      clearOut();
      expectEncoded(encodeConnect(c), c.bytes, c.name);
    }
  });

  test("a server never sends CONNECT", () => {
    expect(checkServerHeader(0x10)).toBe(PROTOCOL_ERROR);
  });
});

// ---- PUBLISH (§3.3) -------------------------------------------------------------

const TOPIC_A_B: u8[] = [0x61, 0x2f, 0x62]; // "a/b"
const PAYLOAD_HI: u8[] = [0x68, 0x69]; // "hi"

class PublishCase {
  constructor(
    public name: string,
    public qos: u32,
    public retain: bool,
    public packetId: u32,
    public topic: u8[],
    public payload: u8[],
    public bytes: u8[],
  ) {}
}

const LONG_PAYLOAD = repeat(0x78, 200); // 200 x "x"

const PUBLISHES: PublishCase[] = [
  new PublishCase("QoS 0", 0, false, 0, TOPIC_A_B, PAYLOAD_HI, [
    0x30, 0x07, // PUBLISH QoS 0, remaining length 7
    0x00, 0x03, 0x61, 0x2f, 0x62, // topic name "a/b"
    0x68, 0x69, // payload "hi"
  ]),
  new PublishCase("QoS 0 retained", 0, true, 0, TOPIC_A_B, PAYLOAD_HI, [
    0x31, 0x07, // PUBLISH QoS 0 retain, remaining length 7
    0x00, 0x03, 0x61, 0x2f, 0x62, // topic name "a/b"
    0x68, 0x69, // payload "hi"
  ]),
  new PublishCase("QoS 1", 1, false, 1, TOPIC_A_B, PAYLOAD_HI, [
    0x32, 0x09, // PUBLISH QoS 1, remaining length 9
    0x00, 0x03, 0x61, 0x2f, 0x62, // topic name "a/b"
    0x00, 0x01, // packet id 1
    0x68, 0x69, // payload "hi"
  ]),
  new PublishCase("QoS 1 retained", 1, true, 0x1234, TOPIC_A_B, PAYLOAD_HI, [
    0x33, 0x09, // PUBLISH QoS 1 retain, remaining length 9
    0x00, 0x03, 0x61, 0x2f, 0x62, // topic name "a/b"
    0x12, 0x34, // packet id 0x1234
    0x68, 0x69, // payload "hi"
  ]),
  new PublishCase("QoS 2", 2, false, 0xffff, TOPIC_A_B, PAYLOAD_HI, [
    0x34, 0x09, // PUBLISH QoS 2, remaining length 9
    0x00, 0x03, 0x61, 0x2f, 0x62, // topic name "a/b"
    0xff, 0xff, // packet id 65535
    0x68, 0x69, // payload "hi"
  ]),
  new PublishCase("QoS 2 retained, empty payload", 2, true, 10, TOPIC_A_B, [], [
    0x35, 0x07, // PUBLISH QoS 2 retain, remaining length 7
    0x00, 0x03, 0x61, 0x2f, 0x62, // topic name "a/b"
    0x00, 0x0a, // packet id 10
  ]),
  new PublishCase("QoS 1, two-byte remaining length", 1, false, 2, [0x74], LONG_PAYLOAD, ([
    0x32, 0xcd, 0x01, // PUBLISH QoS 1, remaining length 205
    0x00, 0x01, 0x74, // topic name "t"
    0x00, 0x02, // packet id 2
  ] as u8[]).concat(LONG_PAYLOAD)), // payload: 200 bytes
];

describe("PUBLISH", () => {
  test("encodes QoS 0/1/2 with and without retain in their exact bytes", () => {
    for (let i = 0; i < PUBLISHES.length; i++) {
      let c = PUBLISHES[i];
      let remainingLength = publishRemainingLength(c.topic.length, c.payload.length, c.qos);
      clearOut();
      let n = encodePublish(out, place(c.topic), c.topic.length, place(c.payload), c.payload.length, c.qos, c.retain, c.packetId);
      expectEncoded(n, c.bytes, c.name);
      expect(packetSize(remainingLength)).toBe(n, c.name + ": packetSize");
    }
  });

  test("decodes what it encodes", () => {
    for (let i = 0; i < PUBLISHES.length; i++) {
      let c = PUBLISHES[i];
      let packet = placePacket(c.bytes, c.name);
      expect(checkServerHeader(packet.header)).toBe(OK, c.name + ": header");
      clearDecoded();
      expect(decodePublish(packet.header, packet.body, packet.len)).toBe(OK, c.name);
      expect(decoded.qos).toBe(c.qos, c.name + ": qos");
      expect(decoded.retain).toBe(c.retain, c.name + ": retain");
      expect(decoded.dup).toBe(false, c.name + ": dup");
      expect(decoded.packetId).toBe(c.packetId, c.name + ": packetId");
      expect(decoded.topicPtr).toBe(packet.body + 2, c.name + ": topic points into the body");
      expect(bytesAt(decoded.topicPtr, decoded.topicLen)).toStrictEqual(c.topic, c.name + ": topic");
      expect(bytesAt(decoded.payloadPtr, decoded.payloadLen)).toStrictEqual(c.payload, c.name + ": payload");
      expect(packetIdOf(packet.header, packet.body, packet.len)).toBe(c.packetId, c.name + ": packetIdOf");
    }
  });

  test("setDup marks a stored PUBLISH as a resend and changes nothing else", () => {
    let c = PUBLISHES[3]; // QoS 1 retained
    clearOut();
    let n = encodePublish(out, place(c.topic), c.topic.length, place(c.payload), c.payload.length, c.qos, c.retain, c.packetId);
    setDup(out);
    let expected = c.bytes.slice(0);
    expected[0] = 0x3b; // PUBLISH DUP, QoS 1, retain
    expectEncoded(n, expected, "after setDup");
    let packet = placePacket(bytesAt(out, n), "after setDup");
    clearDecoded();
    expect(decodePublish(packet.header, packet.body, packet.len)).toBe(OK);
    expect(decoded.dup).toBe(true);
    expect(decoded.qos).toBe(1);
    expect(decoded.retain).toBe(true);
  });
});

class DecodePublishCase {
  constructor(
    public name: string,
    public bytes: u8[],
    public status: i32,
    public packetId: u32 = 0,
    public dup: bool = false,
    public payload: u8[] = [],
  ) {}
}

const DECODE_PUBLISHES: DecodePublishCase[] = [
  new DecodePublishCase("QoS 0 reads no packet id", [
    0x30, 0x07, // PUBLISH QoS 0, remaining length 7
    0x00, 0x03, 0x61, 0x2f, 0x62, // topic name "a/b"
    0x00, 0x0a, // payload: two bytes that would be a packet id at QoS 1
  ], OK, 0, false, [0x00, 0x0a]),
  new DecodePublishCase("QoS 0, topic fills the body", [
    0x30, 0x05, // PUBLISH QoS 0, remaining length 5
    0x00, 0x03, 0x61, 0x2f, 0x62, // topic name "a/b", empty payload
  ], OK),
  new DecodePublishCase("QoS 1 resend", [
    0x3a, 0x09, // PUBLISH DUP, QoS 1, remaining length 9
    0x00, 0x03, 0x61, 0x2f, 0x62, // topic name "a/b"
    0x00, 0x0a, // packet id 10
    0x68, 0x69, // payload "hi"
  ], OK, 10, true, PAYLOAD_HI),
  new DecodePublishCase("QoS 2 resend retained, empty payload", [
    0x3d, 0x07, // PUBLISH DUP, QoS 2, retain, remaining length 7
    0x00, 0x03, 0x61, 0x2f, 0x62, // topic name "a/b"
    0xab, 0xcd, // packet id 0xabcd
  ], OK, 0xabcd, true),
  new DecodePublishCase("QoS 1, zero packet id", [
    0x32, 0x07, // PUBLISH QoS 1, remaining length 7
    0x00, 0x03, 0x61, 0x2f, 0x62, // topic name "a/b"
    0x00, 0x00, // packet id 0: not allowed (§2.3.1)
  ], MALFORMED_PACKET),
  new DecodePublishCase("QoS 2, zero packet id", [
    0x34, 0x09, // PUBLISH QoS 2, remaining length 9
    0x00, 0x03, 0x61, 0x2f, 0x62, // topic name "a/b"
    0x00, 0x00, // packet id 0: not allowed
    0x68, 0x69, // payload "hi"
  ], MALFORMED_PACKET),
  new DecodePublishCase("empty body", [
    0x30, 0x00, // PUBLISH QoS 0, remaining length 0: no topic length
  ], MALFORMED_PACKET),
  new DecodePublishCase("topic length cut in half", [
    0x30, 0x01, // PUBLISH QoS 0, remaining length 1
    0x00, // first byte of the topic length
  ], MALFORMED_PACKET),
  new DecodePublishCase("truncated topic", [
    0x30, 0x05, // PUBLISH QoS 0, remaining length 5
    0x00, 0x05, 0x61, 0x2f, 0x62, // topic length 5, only "a/b" present
  ], MALFORMED_PACKET),
  new DecodePublishCase("topic one byte short", [
    0x30, 0x05, // PUBLISH QoS 0, remaining length 5
    0x00, 0x04, 0x61, 0x2f, 0x62, // topic length 4, only "a/b" present
  ], MALFORMED_PACKET),
  new DecodePublishCase("topic length overflows the body", [
    0x30, 0x04, // PUBLISH QoS 0, remaining length 4
    0xff, 0xff, 0x61, 0x62, // topic length 65535, two bytes present
  ], MALFORMED_PACKET),
  new DecodePublishCase("QoS 1, packet id missing", [
    0x32, 0x05, // PUBLISH QoS 1, remaining length 5
    0x00, 0x03, 0x61, 0x2f, 0x62, // topic name "a/b", then nothing
  ], MALFORMED_PACKET),
  new DecodePublishCase("QoS 2, packet id cut in half", [
    0x34, 0x06, // PUBLISH QoS 2, remaining length 6
    0x00, 0x03, 0x61, 0x2f, 0x62, // topic name "a/b"
    0x00, // first byte of the packet id
  ], MALFORMED_PACKET),
];

describe("decodePublish", () => {
  test("accepts well-formed and refuses truncated or zero-id packets", () => {
    for (let i = 0; i < DECODE_PUBLISHES.length; i++) {
      let c = DECODE_PUBLISHES[i];
      let packet = placePacket(c.bytes, c.name);
      clearDecoded();
      expect(decodePublish(packet.header, packet.body, packet.len)).toBe(c.status, c.name);
      if (c.status == OK) {
        expect(decoded.packetId).toBe(c.packetId, c.name + ": packetId");
        expect(decoded.dup).toBe(c.dup, c.name + ": dup");
        expect(bytesAt(decoded.topicPtr, decoded.topicLen)).toStrictEqual(TOPIC_A_B, c.name + ": topic");
        expect(bytesAt(decoded.payloadPtr, decoded.payloadLen)).toStrictEqual(c.payload, c.name + ": payload");
      } else {
        expect(decoded.topicLen).toBe(0xaaaaaaaa, c.name + ": no result on failure");
      }
    }
  });
});

/** The first 9 body bytes of a QoS 1 PUBLISH whose body is 3000 bytes long. */
const HEAD: u8[] = [
  0x00, 0x03, 0x61, 0x2f, 0x62, // topic name "a/b"
  0x01, 0x90, // packet id 0x0190
  0x68, 0x69, // the first payload bytes
];
const QOS_1_RETAIN: u8 = 0x33; // PUBLISH QoS 1, retain

describe("decodePublishHead", () => {
  test("needs the topic length, then the topic and packet id, before it decodes anything", () => {
    let body = place(HEAD);
    for (let present: u32 = 0; present < 7; present++) {
      clearDecoded();
      expect(decodePublishHead(QOS_1_RETAIN, body, present, 3000)).toBe(NEED_MORE, "present " + present.toString());
      expect(decoded.topicLen).toBe(present < 2 ? 0xaaaaaaaa : 3, "topic length once known, present " + present.toString());
      expect(decoded.packetId).toBe(0xaaaaaaaa, "no packet id yet, present " + present.toString());
    }
  });

  test("decodes the head as soon as it is present, the payload running past the present bytes", () => {
    let body = place(HEAD);
    for (let present: u32 = 7; present <= 9; present++) {
      clearDecoded();
      expect(decodePublishHead(QOS_1_RETAIN, body, present, 3000)).toBe(OK, "present " + present.toString());
      expect(decoded.qos).toBe(1);
      expect(decoded.retain).toBe(true);
      expect(decoded.dup).toBe(false);
      expect(decoded.packetId).toBe(0x0190);
      expect(bytesAt(decoded.topicPtr, decoded.topicLen)).toStrictEqual(TOPIC_A_B);
      expect(decoded.payloadPtr).toBe(body + 7);
      expect(decoded.payloadLen).toBe(3000 - 7);
    }
  });

  test("refuses at once a head that cannot fit the body, or a zero packet id, writing no result", () => {
    let body = place(HEAD);
    clearDecoded();
    expect(decodePublishHead(QOS_1_RETAIN, body, 2, 6)).toBe(MALFORMED_PACKET, "topic and packet id run past a 6-byte body");
    expect(decodePublishHead(QOS_1_RETAIN, body, 0, 1)).toBe(MALFORMED_PACKET, "a 1-byte body has no topic length");
    let zero = place([0x00, 0x01, 0x61, 0x00, 0x00]); // topic "a", packet id 0
    expect(decodePublishHead(QOS_1_RETAIN, zero, 5, 3000)).toBe(MALFORMED_PACKET, "packet id 0");
    expect(decoded.topicLen).toBe(0xaaaaaaaa, "no result on failure");
  });

  test("at QoS 0 the payload starts right after the topic", () => {
    let body = place(HEAD);
    clearDecoded();
    expect(decodePublishHead(0x30, body, 5, 3000)).toBe(OK);
    expect(decoded.packetId).toBe(0);
    expect(decoded.payloadPtr).toBe(body + 5);
    expect(decoded.payloadLen).toBe(3000 - 5);
  });
});

// ---- acknowledgements (§3.4–3.7, §3.11) --------------------------------------------

class AckCase {
  constructor(public name: string, public type: u8, public packetId: u32, public bytes: u8[]) {}
}

const ACKS: AckCase[] = [
  new AckCase("PUBACK", PUBACK, 1, [
    0x40, 0x02, // PUBACK, remaining length 2
    0x00, 0x01, // packet id 1
  ]),
  new AckCase("PUBREC", PUBREC, 0x1234, [
    0x50, 0x02, // PUBREC, remaining length 2
    0x12, 0x34, // packet id 0x1234
  ]),
  new AckCase("PUBREL", PUBREL, 0xabcd, [
    0x62, 0x02, // PUBREL with reserved flags 0b0010, remaining length 2
    0xab, 0xcd, // packet id 0xabcd
  ]),
  new AckCase("PUBCOMP", PUBCOMP, 0xffff, [
    0x70, 0x02, // PUBCOMP, remaining length 2
    0xff, 0xff, // packet id 65535
  ]),
];

class AckDecodeCase {
  constructor(public name: string, public bytes: u8[], public status: i32, public packetId: u32 = 0) {}
}

const ACK_DECODES: AckDecodeCase[] = [
  new AckDecodeCase("UNSUBACK", [
    0xb0, 0x02, // UNSUBACK, remaining length 2
    0x00, 0x07, // packet id 7
  ], OK, 7),
  new AckDecodeCase("PUBACK, zero packet id", [
    0x40, 0x02, // PUBACK, remaining length 2
    0x00, 0x00, // packet id 0: not allowed
  ], MALFORMED_PACKET),
  new AckDecodeCase("PUBREC, empty body", [
    0x50, 0x00, // PUBREC, remaining length 0
  ], MALFORMED_PACKET),
  new AckDecodeCase("PUBREL, packet id cut in half", [
    0x62, 0x01, // PUBREL, remaining length 1
    0x00, // first byte of the packet id
  ], MALFORMED_PACKET),
  new AckDecodeCase("PUBCOMP, byte after the packet id", [
    0x70, 0x03, // PUBCOMP, remaining length 3
    0x00, 0x01, // packet id 1
    0x00, // extra byte: 3.1.1 acks have no properties
  ], MALFORMED_PACKET),
  new AckDecodeCase("UNSUBACK, zero packet id", [
    0xb0, 0x02, // UNSUBACK, remaining length 2
    0x00, 0x00, // packet id 0
  ], MALFORMED_PACKET),
];

describe("acknowledgements", () => {
  test("encode PUBACK, PUBREC, PUBREL (flags 0x02) and PUBCOMP in their exact bytes and decode again", () => {
    for (let i = 0; i < ACKS.length; i++) {
      let c = ACKS[i];
      clearOut();
      expectEncoded(encodeAck(out, c.type, c.packetId), c.bytes, c.name);
      let packet = placePacket(c.bytes, c.name);
      expect(packet.header >> 4).toBe(c.type, c.name + ": type");
      expect(checkServerHeader(packet.header)).toBe(OK, c.name + ": header");
      clearDecoded();
      expect(decodeAck(packet.body, packet.len)).toBe(OK, c.name);
      expect(decoded.packetId).toBe(c.packetId, c.name + ": packetId");
      expect(packetIdOf(packet.header, packet.body, packet.len)).toBe(c.packetId, c.name + ": packetIdOf");
    }
  });

  test("decodeAck refuses too-short, too-long and zero-id acks", () => {
    for (let i = 0; i < ACK_DECODES.length; i++) {
      let c = ACK_DECODES[i];
      let packet = placePacket(c.bytes, c.name);
      clearDecoded();
      expect(decodeAck(packet.body, packet.len)).toBe(c.status, c.name);
      expect(decoded.packetId).toBe(c.status == OK ? c.packetId : 0xaaaaaaaa, c.name + ": packetId");
    }
  });
});

// ---- PINGREQ, DISCONNECT, PINGRESP (§3.12–3.14) -------------------------------------

describe("packets without a body", () => {
  test("encode PINGREQ and DISCONNECT in their exact bytes", () => {
    clearOut();
    expectEncoded(encodeEmpty(out, PINGREQ), [
      0xc0, 0x00, // PINGREQ, remaining length 0
    ], "PINGREQ");
    clearOut();
    expectEncoded(encodeEmpty(out, DISCONNECT), [
      0xe0, 0x00, // DISCONNECT, remaining length 0
    ], "DISCONNECT");
  });

  test("decodePingresp accepts only an empty body", () => {
    let empty = placePacket([
      0xd0, 0x00, // PINGRESP, remaining length 0
    ], "PINGRESP");
    expect(checkServerHeader(empty.header)).toBe(OK);
    expect(decodePingresp(empty.len)).toBe(OK);
    let withBody = placePacket([
      0xd0, 0x01, // PINGRESP, remaining length 1
      0x00, // a body PINGRESP must not have
    ], "PINGRESP with body");
    expect(decodePingresp(withBody.len)).toBe(MALFORMED_PACKET);
  });
});

// ---- CONNACK (§3.2) -------------------------------------------------------------------

class ConnackCase {
  constructor(public name: string, public bytes: u8[], public status: i32, public sessionPresent: bool = false, public returnCode: u8 = 0) {}
}

const CONNACKS: ConnackCase[] = [
  new ConnackCase("accepted, no session", [
    0x20, 0x02, // CONNACK, remaining length 2
    0x00, // acknowledge flags: session present 0
    0x00, // return code 0: accepted
  ], OK, false, 0),
  new ConnackCase("accepted, session present", [
    0x20, 0x02, // CONNACK, remaining length 2
    0x01, // acknowledge flags: session present 1
    0x00, // return code 0: accepted
  ], OK, true, 0),
  new ConnackCase("refused: unacceptable protocol version", [
    0x20, 0x02, // CONNACK, remaining length 2
    0x00, // acknowledge flags: none
    0x01, // return code 1
  ], OK, false, 1),
  new ConnackCase("refused: identifier rejected", [
    0x20, 0x02, // CONNACK, remaining length 2
    0x00, // acknowledge flags: none
    0x02, // return code 2
  ], OK, false, 2),
  new ConnackCase("refused: server unavailable", [
    0x20, 0x02, // CONNACK, remaining length 2
    0x00, // acknowledge flags: none
    0x03, // return code 3
  ], OK, false, 3),
  new ConnackCase("refused: bad user name or password", [
    0x20, 0x02, // CONNACK, remaining length 2
    0x00, // acknowledge flags: none
    0x04, // return code 4
  ], OK, false, 4),
  new ConnackCase("refused: not authorized", [
    0x20, 0x02, // CONNACK, remaining length 2
    0x00, // acknowledge flags: none
    0x05, // return code 5
  ], OK, false, 5),
  new ConnackCase("return code 6", [
    0x20, 0x02, // CONNACK, remaining length 2
    0x00, // acknowledge flags: none
    0x06, // return code 6: reserved
  ], MALFORMED_PACKET),
  new ConnackCase("return code 255", [
    0x20, 0x02, // CONNACK, remaining length 2
    0x00, // acknowledge flags: none
    0xff, // return code 255: reserved
  ], MALFORMED_PACKET),
  new ConnackCase("reserved acknowledge flag bit 1", [
    0x20, 0x02, // CONNACK, remaining length 2
    0x02, // acknowledge flags: reserved bit set
    0x00, // return code 0
  ], MALFORMED_PACKET),
  new ConnackCase("reserved acknowledge flag bit 7", [
    0x20, 0x02, // CONNACK, remaining length 2
    0x81, // acknowledge flags: reserved bit 7 and session present
    0x00, // return code 0
  ], MALFORMED_PACKET),
  new ConnackCase("session present with a refusal", [
    0x20, 0x02, // CONNACK, remaining length 2
    0x01, // acknowledge flags: session present 1, not allowed with a refusal (§3.2.2.2)
    0x05, // return code 5
  ], MALFORMED_PACKET),
  new ConnackCase("empty body", [
    0x20, 0x00, // CONNACK, remaining length 0
  ], MALFORMED_PACKET),
  new ConnackCase("return code missing", [
    0x20, 0x01, // CONNACK, remaining length 1
    0x00, // acknowledge flags
  ], MALFORMED_PACKET),
  new ConnackCase("byte after the return code", [
    0x20, 0x03, // CONNACK, remaining length 3
    0x00, // acknowledge flags
    0x00, // return code 0
    0x00, // extra byte: 3.1.1 CONNACK has no properties
  ], MALFORMED_PACKET),
];

describe("decodeConnack", () => {
  test("reads session present and every return code, refuses the rest", () => {
    for (let i = 0; i < CONNACKS.length; i++) {
      let c = CONNACKS[i];
      let packet = placePacket(c.bytes, c.name);
      expect(checkServerHeader(packet.header)).toBe(OK, c.name + ": header");
      clearDecoded();
      expect(decodeConnack(packet.body, packet.len)).toBe(c.status, c.name);
      if (c.status == OK) {
        expect(decoded.sessionPresent).toBe(c.sessionPresent, c.name + ": sessionPresent");
        expect(decoded.returnCode).toBe(c.returnCode, c.name + ": returnCode");
      } else {
        expect(decoded.returnCode).toBe(0xaa, c.name + ": no result on failure");
      }
    }
  });
});

// ---- SUBACK (§3.9) ---------------------------------------------------------------------

class SubackCase {
  constructor(public name: string, public bytes: u8[], public status: i32, public packetId: u32 = 0, public codes: u8[] = []) {}
}

const SUBACKS: SubackCase[] = [
  new SubackCase("one grant", [
    0x90, 0x03, // SUBACK, remaining length 3
    0x00, 0x01, // packet id 1
    0x00, // return code: granted QoS 0
  ], OK, 1, [0x00]),
  new SubackCase("every return code", [
    0x90, 0x06, // SUBACK, remaining length 6
    0x12, 0x34, // packet id 0x1234
    0x00, // granted QoS 0
    0x01, // granted QoS 1
    0x02, // granted QoS 2
    0x80, // failure
  ], OK, 0x1234, [0x00, 0x01, 0x02, 0x80]),
  new SubackCase("failure only", [
    0x90, 0x03, // SUBACK, remaining length 3
    0x00, 0x02, // packet id 2
    0x80, // failure
  ], OK, 2, [0x80]),
  new SubackCase("return code 0x03", [
    0x90, 0x04, // SUBACK, remaining length 4
    0x00, 0x01, // packet id 1
    0x01, // granted QoS 1
    0x03, // not a return code
  ], MALFORMED_PACKET),
  new SubackCase("return code 0x81", [
    0x90, 0x03, // SUBACK, remaining length 3
    0x00, 0x01, // packet id 1
    0x81, // not a return code
  ], MALFORMED_PACKET),
  new SubackCase("no return codes", [
    0x90, 0x02, // SUBACK, remaining length 2
    0x00, 0x01, // packet id 1, no return codes
  ], MALFORMED_PACKET),
  new SubackCase("packet id cut in half", [
    0x90, 0x01, // SUBACK, remaining length 1
    0x00, // first byte of the packet id
  ], MALFORMED_PACKET),
  new SubackCase("empty body", [
    0x90, 0x00, // SUBACK, remaining length 0
  ], MALFORMED_PACKET),
  new SubackCase("zero packet id", [
    0x90, 0x03, // SUBACK, remaining length 3
    0x00, 0x00, // packet id 0: not allowed
    0x00, // granted QoS 0
  ], MALFORMED_PACKET),
];

describe("decodeSuback", () => {
  test("reads the packet id and return codes, refuses bad codes and short bodies", () => {
    for (let i = 0; i < SUBACKS.length; i++) {
      let c = SUBACKS[i];
      let packet = placePacket(c.bytes, c.name);
      expect(checkServerHeader(packet.header)).toBe(OK, c.name + ": header");
      clearDecoded();
      expect(decodeSuback(packet.body, packet.len)).toBe(c.status, c.name);
      if (c.status == OK) {
        expect(decoded.packetId).toBe(c.packetId, c.name + ": packetId");
        expect(bytesAt(decoded.codesPtr, decoded.codesLen)).toStrictEqual(c.codes, c.name + ": return codes");
        expect(packetIdOf(packet.header, packet.body, packet.len)).toBe(c.packetId, c.name + ": packetIdOf");
      } else {
        expect(decoded.codesLen).toBe(0xaaaaaaaa, c.name + ": no result on failure");
      }
    }
  });
});

// ---- fixed header flags (§2.2.2) -------------------------------------------------------

class HeaderCase {
  constructor(public header: u8, public status: i32, public name: string) {}
}

const HEADERS: HeaderCase[] = [
  new HeaderCase(0x00, MALFORMED_PACKET, "type 0 (reserved)"),
  new HeaderCase(0xf0, MALFORMED_PACKET, "type 15 (reserved)"),
  new HeaderCase(0x10, PROTOCOL_ERROR, "CONNECT"),
  new HeaderCase(0x82, PROTOCOL_ERROR, "SUBSCRIBE"),
  new HeaderCase(0xa2, PROTOCOL_ERROR, "UNSUBSCRIBE"),
  new HeaderCase(0xc0, PROTOCOL_ERROR, "PINGREQ"),
  new HeaderCase(0xe0, PROTOCOL_ERROR, "DISCONNECT"),
  new HeaderCase(0x20, OK, "CONNACK"),
  new HeaderCase(0x21, MALFORMED_PACKET, "CONNACK with flag bit 0"),
  new HeaderCase(0x28, MALFORMED_PACKET, "CONNACK with flag bit 3"),
  new HeaderCase(0x30, OK, "PUBLISH QoS 0"),
  new HeaderCase(0x31, OK, "PUBLISH QoS 0 retain"),
  new HeaderCase(0x32, OK, "PUBLISH QoS 1"),
  new HeaderCase(0x34, OK, "PUBLISH QoS 2"),
  new HeaderCase(0x3b, OK, "PUBLISH DUP QoS 1 retain"),
  new HeaderCase(0x3d, OK, "PUBLISH DUP QoS 2 retain"),
  new HeaderCase(0x36, MALFORMED_PACKET, "PUBLISH QoS 3"),
  new HeaderCase(0x37, MALFORMED_PACKET, "PUBLISH QoS 3 retain"),
  new HeaderCase(0x3e, MALFORMED_PACKET, "PUBLISH DUP QoS 3"),
  new HeaderCase(0x38, MALFORMED_PACKET, "PUBLISH DUP QoS 0 (MQTT-3.3.1-2)"),
  new HeaderCase(0x39, MALFORMED_PACKET, "PUBLISH DUP QoS 0 retain"),
  new HeaderCase(0x40, OK, "PUBACK"),
  new HeaderCase(0x42, MALFORMED_PACKET, "PUBACK with PUBREL's flags"),
  new HeaderCase(0x50, OK, "PUBREC"),
  new HeaderCase(0x51, MALFORMED_PACKET, "PUBREC with flag bit 0"),
  new HeaderCase(0x62, OK, "PUBREL with flags 0b0010"),
  new HeaderCase(0x60, MALFORMED_PACKET, "PUBREL with flags 0"),
  new HeaderCase(0x63, MALFORMED_PACKET, "PUBREL with flags 0b0011"),
  new HeaderCase(0x6a, MALFORMED_PACKET, "PUBREL with flags 0b1010"),
  new HeaderCase(0x70, OK, "PUBCOMP"),
  new HeaderCase(0x72, MALFORMED_PACKET, "PUBCOMP with PUBREL's flags"),
  new HeaderCase(0x90, OK, "SUBACK"),
  new HeaderCase(0x92, MALFORMED_PACKET, "SUBACK with SUBSCRIBE's flags"),
  new HeaderCase(0xb0, OK, "UNSUBACK"),
  new HeaderCase(0xb2, MALFORMED_PACKET, "UNSUBACK with UNSUBSCRIBE's flags"),
  new HeaderCase(0xd0, OK, "PINGRESP"),
  new HeaderCase(0xd8, MALFORMED_PACKET, "PINGRESP with flag bit 3"),
];

describe("checkServerHeader", () => {
  test("allows each server packet with its own flags only", () => {
    for (let i = 0; i < HEADERS.length; i++) {
      let c = HEADERS[i];
      expect(checkServerHeader(c.header)).toBe(c.status, c.name);
    }
  });
});

// ---- packetIdOf (tracing) -------------------------------------------------------------

describe("packetIdOf", () => {
  test("is 0 for packets without a packet id or too short to hold one", () => {
    let connack = placePacket([
      0x20, 0x02, // CONNACK, remaining length 2
      0x01, 0x00, // session present, accepted: no packet id
    ], "CONNACK");
    expect(packetIdOf(connack.header, connack.body, connack.len)).toBe(0, "CONNACK");
    let qos0 = placePacket([
      0x30, 0x07, // PUBLISH QoS 0, remaining length 7
      0x00, 0x03, 0x61, 0x2f, 0x62, // topic name "a/b"
      0x00, 0x0a, // payload, not a packet id
    ], "PUBLISH QoS 0");
    expect(packetIdOf(qos0.header, qos0.body, qos0.len)).toBe(0, "PUBLISH QoS 0");
    let truncated = placePacket([
      0x32, 0x06, // PUBLISH QoS 1, remaining length 6
      0x00, 0x03, 0x61, 0x2f, 0x62, // topic name "a/b"
      0x00, // first byte of the packet id
    ], "truncated PUBLISH");
    expect(packetIdOf(truncated.header, truncated.body, truncated.len)).toBe(0, "truncated PUBLISH");
    let shortAck = placePacket([
      0x40, 0x01, // PUBACK, remaining length 1
      0x07, // first byte of the packet id
    ], "short PUBACK");
    expect(packetIdOf(shortAck.header, shortAck.body, shortAck.len)).toBe(0, "short PUBACK");
  });
});
