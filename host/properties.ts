/**
 * MQTT 5 property blocks (MQTT 5.0 §2.2.2) as MQTT.js's property objects: encoding what the
 * caller passes (CONNECT, PUBLISH) into the bytes the module checks and copies, and decoding
 * the blocks the module has already validated (CONNACK, PUBLISH, acks, DISCONNECT) for the
 * API surface. No MQTT logic: the module alone decides validity and acts on properties;
 * this only names bytes, like the packet trace.
 *
 * @example
 * encodeProperties({ contentType: "text/plain", userProperties: { a: ["1", "2"] } }, "publish properties");
 */
import { argumentError, checkMqttString, show } from "./errors.ts";
import { copyBytes } from "./platform.ts";

/** User Properties: a name with one value, or several (the same name repeated, in order). */
export type UserProperties = Record<string, string | string[]>;

type Kind = "byte" | "bool" | "u16" | "u32" | "varint" | "string" | "binary" | "pair";

/** Table 2-4 of MQTT 5.0: identifier → MQTT.js's name and the value's type. */
const TABLE: Record<number, [name: string, kind: Kind]> = {
  0x01: ["payloadFormatIndicator", "bool"],
  0x02: ["messageExpiryInterval", "u32"],
  0x03: ["contentType", "string"],
  0x08: ["responseTopic", "string"],
  0x09: ["correlationData", "binary"],
  0x0b: ["subscriptionIdentifier", "varint"],
  0x11: ["sessionExpiryInterval", "u32"],
  0x12: ["assignedClientIdentifier", "string"],
  0x13: ["serverKeepAlive", "u16"],
  0x15: ["authenticationMethod", "string"],
  0x16: ["authenticationData", "binary"],
  0x17: ["requestProblemInformation", "bool"],
  0x18: ["willDelayInterval", "u32"],
  0x19: ["requestResponseInformation", "bool"],
  0x1a: ["responseInformation", "string"],
  0x1c: ["serverReference", "string"],
  0x1f: ["reasonString", "string"],
  0x21: ["receiveMaximum", "u16"],
  0x22: ["topicAliasMaximum", "u16"],
  0x23: ["topicAlias", "u16"],
  0x24: ["maximumQoS", "byte"],
  0x25: ["retainAvailable", "bool"],
  0x26: ["userProperties", "pair"],
  0x27: ["maximumPacketSize", "u32"],
  0x28: ["wildcardSubscriptionAvailable", "bool"],
  0x29: ["subscriptionIdentifiersAvailable", "bool"],
  0x2a: ["sharedSubscriptionAvailable", "bool"],
};

const IDENTIFIERS = new Map(Object.entries(TABLE).map(([id, [name, kind]]) => [name, { id: Number(id), kind }]));
const utf8 = new TextDecoder("utf-8");
const encoder = new TextEncoder();

/** A decoded block: each property by MQTT.js's name; User Properties as {@link UserProperties}; a repeated Subscription Identifier as an array. */
export type DecodedProperties = Record<string, unknown> & { userProperties?: UserProperties };

/** Appends the Variable Byte Integer of `value` (§1.5.5). */
function varint(out: number[], value: number): void {
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
}

function field(out: number[], bytes: Uint8Array): void {
  out.push(bytes.length >> 8, bytes.length & 0xff, ...bytes);
}

function text(value: unknown, where: string): Uint8Array {
  checkMqttString(value as string, where);
  const bytes = encoder.encode(value as string);
  if (bytes.length > 0xffff) throw argumentError(`${where} is ${bytes.length} bytes; at most 65535`);
  return bytes;
}

function integer(value: unknown, where: string, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
    throw argumentError(`${where} ${show(value)} must be a whole number from 0 to ${max}`);
  }
  return value;
}

/**
 * Encodes `properties` (MQTT.js names) as a whole block, its Property Length first.
 * `names` are the properties this packet may carry from the caller; `where` names the
 * object in messages. Throws INVALID_ARGUMENT naming an unknown property or a bad value.
 */
export function encodeProperties(properties: Record<string, unknown> | undefined, names: readonly string[], where: string): Uint8Array {
  const out: number[] = [];
  if (properties !== undefined) {
    if (properties === null || typeof properties !== "object" || Array.isArray(properties)) {
      throw argumentError(`${where} must be an object (got ${show(properties)})`);
    }
    for (const [name, value] of Object.entries(properties)) {
      if (value === undefined) continue;
      const entry = IDENTIFIERS.get(name);
      if (entry === undefined || !names.includes(name)) {
        throw argumentError(`${where}: unknown property \`${name}\`; known: ${names.map((n) => `\`${n}\``).join(", ")}`);
      }
      const label = `${where}.${name}`;
      if (entry.kind === "pair") {
        if (value === null || typeof value !== "object" || Array.isArray(value)) {
          throw argumentError(`${label} must be { name: value | value[] } (got ${show(value)})`);
        }
        for (const [key, values] of Object.entries(value as Record<string, unknown>)) {
          for (const one of Array.isArray(values) ? values : [values]) {
            out.push(entry.id);
            field(out, text(key, `${label} name`));
            field(out, text(typeof one === "number" ? String(one) : one, `${label}[${JSON.stringify(key)}]`));
          }
        }
        continue;
      }
      out.push(entry.id);
      switch (entry.kind) {
        case "bool":
          if (typeof value !== "boolean") throw argumentError(`${label} must be a boolean (got ${show(value)})`);
          out.push(value ? 1 : 0);
          break;
        case "byte":
          out.push(integer(value, label, 0xff));
          break;
        case "u16": {
          const n = integer(value, label, 0xffff);
          out.push(n >> 8, n & 0xff);
          break;
        }
        case "u32": {
          const n = integer(value, label, 0xffffffff);
          out.push(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
          break;
        }
        case "varint":
          varint(out, integer(value, label, 268_435_455));
          break;
        case "string":
          field(out, text(value, label));
          break;
        case "binary": {
          if (!(value instanceof Uint8Array) && typeof value !== "string") throw argumentError(`${label} must be a Uint8Array or string (got ${show(value)})`);
          const bytes = typeof value === "string" ? encoder.encode(value) : value;
          if (bytes.length > 0xffff) throw argumentError(`${label} is ${bytes.length} bytes; at most 65535`);
          field(out, bytes);
          break;
        }
      }
    }
  }
  if (out.length === 0) return new Uint8Array(0);
  const head: number[] = [];
  varint(head, out.length);
  return Uint8Array.from([...head, ...out]);
}

/**
 * Decodes the properties of a block (the bytes after its Property Length) that the module
 * has validated. Unknown identifiers cannot occur there; one ends the decoding.
 */
export function decodeProperties(bytes: Uint8Array): DecodedProperties {
  const result: DecodedProperties = {};
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const readField = (at: number): [Uint8Array, number] => {
    const len = view.getUint16(at);
    return [bytes.subarray(at + 2, at + 2 + len), at + 2 + len];
  };
  let at = 0;
  while (at < bytes.length) {
    const entry = TABLE[bytes[at++]];
    if (entry === undefined) break;
    const [name, kind] = entry;
    let value: unknown;
    switch (kind) {
      case "bool":
        value = bytes[at++] === 1;
        break;
      case "byte":
        value = bytes[at++];
        break;
      case "u16":
        value = view.getUint16(at);
        at += 2;
        break;
      case "u32":
        value = view.getUint32(at);
        at += 4;
        break;
      case "varint": {
        let n = 0;
        let scale = 1;
        let byte: number;
        do {
          byte = bytes[at++];
          n += (byte & 0x7f) * scale;
          scale *= 128;
        } while ((byte & 0x80) !== 0);
        value = n;
        break;
      }
      case "string":
      case "binary": {
        const [raw, next] = readField(at);
        at = next;
        value = kind === "string" ? utf8.decode(raw) : copyBytes(raw);
        break;
      }
      case "pair": {
        const [key, afterKey] = readField(at);
        const [raw, next] = readField(afterKey);
        at = next;
        const users = (result.userProperties ??= {});
        const k = utf8.decode(key);
        const v = utf8.decode(raw);
        const held = users[k];
        users[k] = held === undefined ? v : Array.isArray(held) ? [...held, v] : [held, v];
        continue;
      }
    }
    if (name === "subscriptionIdentifier" && result[name] !== undefined) {
      const held = result[name];
      result[name] = Array.isArray(held) ? [...held, value] : [held, value];
    } else result[name] = value;
  }
  return result;
}
