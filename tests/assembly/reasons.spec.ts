// Specs for assembly/reasons.ts: which Reason Codes each packet may carry, checked for
// every byte value against the lists of the packet sections (MQTT 5.0 §3.2.2.2, §3.4.2.1,
// §3.5.2.1, §3.6.2.1, §3.7.2.1, §3.9.3, §3.11.3, §3.14.2.1, §3.15.2.1), which the module's
// table restates by code (Table 2-6).
import {
  CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT,
} from "../../assembly/codec";
import {
  AUTH, REASON_SUCCESS, REASON_NORMAL_DISCONNECTION, REASON_GRANTED_QOS_0, REASON_GRANTED_QOS_2, REASON_NO_SUBSCRIPTION_EXISTED,
  REASON_UNSPECIFIED_ERROR, REASON_MALFORMED_PACKET, REASON_PROTOCOL_ERROR, REASON_TOPIC_ALIAS_INVALID,
  REASON_WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED, isErrorReason, isReasonAllowed,
} from "../../assembly/reasons";

class PacketCodes {
  constructor(public name: string, public type: u32, public codes: u8[]) {}
}

const PUBACK_CODES: u8[] = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]; // §3.4.2.1, §3.5.2.1
const PUBREL_CODES: u8[] = [0x00, 0x92]; // §3.6.2.1, §3.7.2.1

const PACKET_CODES: PacketCodes[] = [
  new PacketCodes("CONNACK", CONNACK, [
    0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a, 0x9b, 0x9c,
    0x9d, 0x9f,
  ]),
  new PacketCodes("PUBACK", PUBACK, PUBACK_CODES),
  new PacketCodes("PUBREC", PUBREC, PUBACK_CODES),
  new PacketCodes("PUBREL", PUBREL, PUBREL_CODES),
  new PacketCodes("PUBCOMP", PUBCOMP, PUBREL_CODES),
  new PacketCodes("SUBACK", SUBACK, [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2]),
  new PacketCodes("UNSUBACK", UNSUBACK, [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91]),
  new PacketCodes("DISCONNECT", DISCONNECT, [
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
    0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
  ]),
  new PacketCodes("AUTH", AUTH, [0x00, 0x18, 0x19]),
  new PacketCodes("CONNECT", CONNECT, []),
  new PacketCodes("PUBLISH", PUBLISH, []),
  new PacketCodes("SUBSCRIBE", SUBSCRIBE, []),
  new PacketCodes("UNSUBSCRIBE", UNSUBSCRIBE, []),
  new PacketCodes("PINGREQ", PINGREQ, []),
  new PacketCodes("PINGRESP", PINGRESP, []),
];

describe("Reason Codes", () => {
  test("each packet allows exactly the codes its section lists", () => {
    for (let i = 0; i < PACKET_CODES.length; i++) {
      let c = PACKET_CODES[i];
      for (let code: u32 = 0; code < 256; code++) {
        let listed = c.codes.includes(<u8>code);
        expect(isReasonAllowed(c.type, code)).toBe(listed, c.name + " code 0x" + code.toString(16));
      }
    }
  });

  test("a code of 0x80 or more is an error (§2.4)", () => {
    expect(isErrorReason(REASON_SUCCESS)).toBe(false);
    expect(isErrorReason(REASON_GRANTED_QOS_2)).toBe(false);
    expect(isErrorReason(REASON_NO_SUBSCRIPTION_EXISTED)).toBe(false);
    expect(isErrorReason(0x7f)).toBe(false);
    expect(isErrorReason(REASON_UNSPECIFIED_ERROR)).toBe(true);
    expect(isErrorReason(REASON_WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED)).toBe(true);
  });

  test("the names share the value the spec gives them", () => {
    expect(REASON_NORMAL_DISCONNECTION).toBe(REASON_SUCCESS);
    expect(REASON_GRANTED_QOS_0).toBe(REASON_SUCCESS);
    expect(REASON_MALFORMED_PACKET).toBe(0x81);
    expect(REASON_PROTOCOL_ERROR).toBe(0x82);
    expect(REASON_TOPIC_ALIAS_INVALID).toBe(0x94);
    expect(AUTH).toBe(15);
  });
});
