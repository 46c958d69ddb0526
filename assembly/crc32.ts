// CRC-32 (IEEE 802.3: reflected polynomial 0xEDB88320, initial value and final XOR
// 0xFFFFFFFF, the CRC of zlib and PNG) over a byte range, without allocation. Four bits
// at a time from a 16-entry table: 64 bytes of RAM instead of the 1 KiB of a byte table
// (the nodemcu profile has about 9.5 KiB in all), at a quarter of a bitwise loop's steps.

/** crc(n) for the 16 values of a nibble: the table of a four-bit-at-a-time CRC. */
const NIBBLES = memory.data<u32>([
  0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
  0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
]);

/** The CRC register before any byte (start a CRC with it, end it with crc32Final). */
export const CRC32_START: u32 = 0xffffffff;

/** The CRC register after the len bytes at ptr, from the register `crc`. */
export function crc32Update(crc: u32, ptr: usize, len: u32): u32 {
  for (let end = ptr + len; ptr < end; ptr++) {
    crc ^= <u32>load<u8>(ptr);
    crc = (crc >>> 4) ^ load<u32>(NIBBLES + ((crc & 15) << 2));
    crc = (crc >>> 4) ^ load<u32>(NIBBLES + ((crc & 15) << 2));
  }
  return crc;
}

/** The CRC-32 of the bytes the register `crc` went over. */
// @ts-ignore: decorator
@inline export function crc32Final(crc: u32): u32 {
  return crc ^ 0xffffffff;
}
