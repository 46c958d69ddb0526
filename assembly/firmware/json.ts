// A JSON writer over a fixed region: numbers and literals written digit by digit,
// no strings built. Each call returns the new write position.

/** Writes the len bytes at src. */
export function writeBytes(at: usize, src: usize, len: u32): usize {
  memory.copy(at, src, len);
  return at + len;
}

/** Writes an ASCII string literal (static data, one byte per char). */
export function writeAscii(at: usize, text: string): usize {
  let len = <u32>text.length;
  for (let i: u32 = 0; i < len; i++) store<u8>(at + i, <u8>text.charCodeAt(i));
  return at + len;
}

/** Writes a decimal unsigned integer. */
export function writeUint(at: usize, value: u32): usize {
  let digits: u32 = 1;
  for (let v = value; v >= 10; v /= 10) digits++;
  for (let i = digits; i > 0; i--) {
    store<u8>(at + i - 1, <u8>(0x30 + value % 10));
    value /= 10;
  }
  return at + digits;
}

/** Writes hundredths as a decimal with two places: -1234 → "-12.34", 5 → "0.05". */
export function writeCenti(at: usize, centi: i32): usize {
  if (centi < 0) {
    store<u8>(at, 0x2d); // '-'
    at++;
  }
  let magnitude = <u32>abs(centi);
  at = writeUint(at, magnitude / 100);
  store<u8>(at, 0x2e); // '.'
  store<u8>(at + 1, <u8>(0x30 + magnitude / 10 % 10));
  store<u8>(at + 2, <u8>(0x30 + magnitude % 10));
  return at + 3;
}

/** Writes true or false. */
export function writeBool(at: usize, value: bool): usize {
  return writeAscii(at, value ? "true" : "false");
}
