// Encoder output and placed packets for the codec specs (codec.spec.ts, codec5.spec.ts):
// an output region guarded against writes past the end, and fixtures split into their
// fixed header and body the way the client's receive path hands them to a decoder.
import { decoded, decodeRemainingLength, writeField } from "../../../assembly/codec";
import { OK } from "../../../assembly/status";
import { place, bytesAt, utf8 } from "./bytes";

/** Encoder output; filled with GUARD before each encoding to catch writes past the end. */
export const OUT_CAPACITY: u32 = 512;
export const out = memory.data(OUT_CAPACITY);
export const GUARD: u8 = 0xee;

export function clearOut(): void {
  memory.fill(out, GUARD, OUT_CAPACITY);
}

/** Checks the n bytes an encoder wrote at out, and that it wrote nothing after them. */
export function expectEncoded(n: u32, expected: u8[], name: string): void {
  expect(n).toBe(<u32>expected.length, name + ": bytes written");
  expect(bytesAt(out, n)).toStrictEqual(expected, name + ": bytes");
  expect(load<u8>(out + n)).toBe(GUARD, name + ": nothing written past the packet");
}

/** A placed packet: its fixed header byte and the body its Remaining Length covers. */
export class Packet {
  header: u8 = 0;
  body: usize = 0;
  len: u32 = 0;
}

/** Places a whole packet and finds its body, checking the fixture's Remaining Length against its size. */
export function placePacket(bytes: u8[], name: string): Packet {
  let ptr = place(bytes);
  let packet = new Packet();
  packet.header = bytes[0];
  expect(decodeRemainingLength(ptr + 1, bytes.length - 1)).toBe(OK, name + ": fixture remaining length");
  packet.body = ptr + 1 + decoded.lengthBytes;
  packet.len = decoded.remainingLength;
  expect(1 + decoded.lengthBytes + packet.len).toBe(<u32>bytes.length, name + ": fixture size");
  return packet;
}

/** A CONNECT field's length for connectRemainingLength: its UTF-8 bytes, or -1 when absent (null). */
export function fieldLength(text: string | null): i32 {
  return text === null ? -1 : String.UTF8.byteLength(text);
}

/** Writes a length-prefixed field from text at ptr unless text is null; returns the bytes written. */
export function writeText(ptr: usize, text: string | null): u32 {
  if (text === null) return 0;
  let bytes = utf8(text);
  return writeField(ptr, place(bytes), bytes.length);
}
