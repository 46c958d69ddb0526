// Fixture bytes for the specs. The code under test reads (ptr, len) from static memory,
// as it reads the receive buffer, so hand-written byte arrays are copied into a
// memory.data() region first. Fixtures live until the next test starts.

// @ts-ignore: decorator
@inline const FIXTURE_CAPACITY: u32 = 32768;
const fixtureRegion = memory.data(FIXTURE_CAPACITY);
let fixtureUsed: u32 = 0;

/** Forgets every fixture; the next place() starts at the region's base again. */
export function resetFixtures(): void {
  fixtureUsed = 0;
}

/** Copies bytes into the fixture region; returns their address. */
export function place(bytes: u8[]): usize {
  let len = <u32>bytes.length;
  assert(fixtureUsed + len <= FIXTURE_CAPACITY, "fixture region full");
  let ptr = fixtureRegion + fixtureUsed;
  for (let i = 0; i < bytes.length; i++) store<u8>(ptr + i, unchecked(bytes[i]));
  fixtureUsed += len;
  return ptr;
}

/** The UTF-8 bytes of text. */
export function utf8(text: string): u8[] {
  let encoded = Uint8Array.wrap(String.UTF8.encode(text));
  let bytes = new Array<u8>(encoded.length);
  for (let i = 0; i < encoded.length; i++) bytes[i] = encoded[i];
  return bytes;
}

/** count copies of value. */
export function repeat(value: u8, count: i32): u8[] {
  let bytes = new Array<u8>(count);
  for (let i = 0; i < count; i++) bytes[i] = value;
  return bytes;
}

/** A copy of the len bytes at ptr, for comparing with toStrictEqual. */
export function bytesAt(ptr: usize, len: u32): u8[] {
  let bytes = new Array<u8>(<i32>len);
  for (let i: u32 = 0; i < len; i++) bytes[i] = load<u8>(ptr + i);
  return bytes;
}
