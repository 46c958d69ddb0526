// JSON (RFC 8259) in place, no strings built. The writer puts numbers and literals
// into a fixed region digit by digit; each call returns the new write position. The
// reader checks a received text over (ptr, len) byte by byte; each call takes the index
// where a token starts and returns the index after it, or JSON_INVALID.
import { isValidUtf8 } from "../topic";

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

// ---- reading ------------------------------------------------------------------------

/**
 * What the readers return for bytes that break the grammar. It is at least any len, so
 * passing it on to another reader (which bounds-checks first) refuses too.
 */
export const JSON_INVALID: u32 = u32.MAX_VALUE;

/**
 * Arrays and objects skipValue lets a value nest (RFC 8259 §9 lets a parser limit
 * nesting). Instead of recursing it keeps one bit per level in a u64: object or array.
 */
export const MAX_JSON_DEPTH: u32 = 64;

const QUOTE: u8 = 0x22; // '"'
const BACKSLASH: u8 = 0x5c; // '\\'
const COMMA: u8 = 0x2c; // ','
const COLON: u8 = 0x3a; // ':'
const MINUS: u8 = 0x2d; // '-'
const OPEN_OBJECT: u8 = 0x7b; // '{'
const CLOSE_OBJECT: u8 = 0x7d; // '}'
const OPEN_ARRAY: u8 = 0x5b; // '['
const CLOSE_ARRAY: u8 = 0x5d; // ']'

/** Index of the first byte at or after i that is not whitespace (RFC 8259 §2: space, tab, LF, CR). */
export function skipSpace(ptr: usize, len: u32, i: u32): u32 {
  while (i < len) {
    let b = load<u8>(ptr + i);
    if (b != 0x20 && b != 0x09 && b != 0x0a && b != 0x0d) break;
    i++;
  }
  return i;
}

/** The index after the literal true, false or null at i (RFC 8259 §3), or JSON_INVALID. */
export function skipLiteral(ptr: usize, len: u32, i: u32): u32 {
  if (i >= len) return JSON_INVALID;
  let first = load<u8>(ptr + i);
  // the bytes after the first letter, the next one lowest: "rue", "alse", "ull"
  let rest: u32 = first == 0x74 ? 0x657572 : first == 0x66 ? 0x65736c61 : first == 0x6e ? 0x6c6c75 : 0;
  if (rest == 0) return JSON_INVALID;
  for (i++; rest != 0; rest >>= 8) {
    if (i >= len || <u32>load<u8>(ptr + i) != (rest & 0xff)) return JSON_INVALID;
    i++;
  }
  return i;
}

/**
 * The index after the string that opens at i (RFC 8259 §7), or JSON_INVALID: unclosed,
 * an unescaped control character U+0000–U+001F, an unknown escape, a \u without four
 * hex digits, a surrogate escape not in a high-low pair, or bytes that are not UTF-8 (§8.1).
 */
export function skipString(ptr: usize, len: u32, i: u32): u32 {
  if (i >= len || load<u8>(ptr + i) != QUOTE) return JSON_INVALID;
  let start = i + 1;
  i = start;
  while (true) {
    if (i >= len) return JSON_INVALID;
    let b = load<u8>(ptr + i);
    if (b == QUOTE) break;
    if (b < 0x20) return JSON_INVALID;
    if (b != BACKSLASH) {
      i++;
      continue;
    }
    i = skipEscape(ptr, len, i);
    if (i == JSON_INVALID) return JSON_INVALID;
  }
  // UTF-8 sequences hold no byte below 0x80, so the scan above never split one
  if (!isValidUtf8(ptr + start, i - start)) return JSON_INVALID;
  return i + 1;
}

/**
 * True when the string from start (its opening quote) to end (the index after its
 * closing quote), as skipString returned, means `literal` (ASCII) once unescaped.
 */
export function stringEquals(ptr: usize, start: u32, end: u32, literal: string): bool {
  let n = <u32>literal.length;
  let k: u32 = 0;
  let i = start + 1;
  while (i < end - 1) {
    let unit = <u32>load<u8>(ptr + i);
    if (unit != <u32>BACKSLASH) i++;
    else if (load<u8>(ptr + i + 1) == 0x75) { // 'u'
      unit = <u32>readHex4(ptr, end, i + 2);
      i += 6;
    } else {
      unit = unescape(load<u8>(ptr + i + 1));
      i += 2;
    }
    if (k >= n || unit != <u32>literal.charCodeAt(k)) return false;
    k++;
  }
  return k == n;
}

/**
 * The index after the value that starts at i (no whitespace before it), or
 * JSON_INVALID: anything outside RFC 8259's grammar, or nesting deeper than
 * MAX_JSON_DEPTH. Iterative, linear in the bytes read.
 */
export function skipValue(ptr: usize, len: u32, i: u32): u32 {
  let objects: u64 = 0; // bit 0: the innermost open container is an object
  let depth: u32 = 0;
  while (true) {
    // a value starts at i
    if (i >= len) return JSON_INVALID;
    let b = load<u8>(ptr + i);
    if (b == OPEN_OBJECT || b == OPEN_ARRAY) {
      if (depth == MAX_JSON_DEPTH) return JSON_INVALID;
      let isObject = b == OPEN_OBJECT;
      objects = (objects << 1) | (isObject ? 1 : 0);
      depth++;
      i = skipSpace(ptr, len, i + 1);
      if (i >= len) return JSON_INVALID;
      if (load<u8>(ptr + i) != (isObject ? CLOSE_OBJECT : CLOSE_ARRAY)) {
        if (isObject) i = skipName(ptr, len, i);
        continue;
      }
      i++; // empty: closed at once
      objects >>= 1;
      depth--;
    } else {
      i = skipScalar(ptr, len, i, b);
      if (i == JSON_INVALID) return JSON_INVALID;
    }
    // after a value: close containers until one continues with a comma
    while (true) {
      if (depth == 0) return i;
      i = skipSpace(ptr, len, i);
      if (i >= len) return JSON_INVALID;
      let inObject = (objects & 1) != 0;
      let c = load<u8>(ptr + i);
      if (c == COMMA) {
        i = skipSpace(ptr, len, i + 1);
        if (inObject) i = skipName(ptr, len, i);
        break;
      }
      if (c != (inObject ? CLOSE_OBJECT : CLOSE_ARRAY)) return JSON_INVALID;
      i++;
      objects >>= 1;
      depth--;
    }
  }
}

/** The index of the value after a member name's colon at or after i (whitespace around it skipped), or JSON_INVALID. */
export function skipColon(ptr: usize, len: u32, i: u32): u32 {
  i = skipSpace(ptr, len, i);
  if (i >= len || load<u8>(ptr + i) != COLON) return JSON_INVALID;
  return skipSpace(ptr, len, i + 1);
}

/** The index of the value after the member name that opens at i, or JSON_INVALID. */
function skipName(ptr: usize, len: u32, i: u32): u32 {
  return skipColon(ptr, len, skipString(ptr, len, i));
}

/** The index after the string, number or literal that starts with b at i, or JSON_INVALID. */
function skipScalar(ptr: usize, len: u32, i: u32, b: u8): u32 {
  if (b == QUOTE) return skipString(ptr, len, i);
  if (b == MINUS || isDigit(b)) return skipNumber(ptr, len, i);
  return skipLiteral(ptr, len, i);
}

/** The index after the number at i (RFC 8259 §6: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?), or JSON_INVALID. */
function skipNumber(ptr: usize, len: u32, i: u32): u32 {
  if (load<u8>(ptr + i) == MINUS) i++;
  if (i >= len || !isDigit(load<u8>(ptr + i))) return JSON_INVALID;
  i = load<u8>(ptr + i) == 0x30 ? i + 1 : skipDigits(ptr, len, i); // no leading zeros
  if (i < len && load<u8>(ptr + i) == 0x2e) { // '.'
    i = skipSomeDigits(ptr, len, i + 1);
    if (i == JSON_INVALID) return JSON_INVALID;
  }
  if (i < len && (load<u8>(ptr + i) | 0x20) == 0x65) { // 'e' or 'E'
    i++;
    if (i < len && (load<u8>(ptr + i) == 0x2b || load<u8>(ptr + i) == MINUS)) i++; // '+' '-'
    i = skipSomeDigits(ptr, len, i);
  }
  return i;
}

/** The index after the digits at i, or JSON_INVALID when there is none. */
function skipSomeDigits(ptr: usize, len: u32, i: u32): u32 {
  let end = skipDigits(ptr, len, i);
  return end == i ? JSON_INVALID : end;
}

/** The index of the first byte at or after i that is not a digit. */
function skipDigits(ptr: usize, len: u32, i: u32): u32 {
  while (i < len && isDigit(load<u8>(ptr + i))) i++;
  return i;
}

/** True for 0–9. */
// @ts-ignore: decorator
@inline function isDigit(b: u8): bool {
  return <u32>b - 0x30 < 10;
}

/**
 * The index after the escape at i (its backslash), or JSON_INVALID. A \u escape of a
 * high surrogate takes the \u low surrogate after it too (RFC 8259 §7); an unpaired one
 * encodes no character (§8.2) and is refused.
 */
function skipEscape(ptr: usize, len: u32, i: u32): u32 {
  if (i + 1 >= len) return JSON_INVALID;
  let e = load<u8>(ptr + i + 1);
  if (e != 0x75) return unescape(e) != 0 ? i + 2 : JSON_INVALID; // 'u'
  let unit = readHex4(ptr, len, i + 2);
  if (unit < 0xd800 || unit > 0xdfff) return unit < 0 ? JSON_INVALID : i + 6;
  if (unit >= 0xdc00) return JSON_INVALID; // a low surrogate first
  if (i + 7 >= len || load<u8>(ptr + i + 6) != BACKSLASH || load<u8>(ptr + i + 7) != 0x75) return JSON_INVALID;
  let low = readHex4(ptr, len, i + 8);
  return low >= 0xdc00 && low <= 0xdfff ? i + 12 : JSON_INVALID;
}

/** The code unit a two-byte escape \e stands for (RFC 8259 §7), or 0 for none. */
function unescape(e: u8): u32 {
  if (e == QUOTE || e == BACKSLASH || e == 0x2f) return e; // '"' '\\' '/'
  if (e == 0x62) return 0x08; // 'b'
  if (e == 0x66) return 0x0c; // 'f'
  if (e == 0x6e) return 0x0a; // 'n'
  if (e == 0x72) return 0x0d; // 'r'
  if (e == 0x74) return 0x09; // 't'
  return 0;
}

/** The value of the four hex digits at i, or -1. */
function readHex4(ptr: usize, len: u32, i: u32): i32 {
  if (i >= len || len - i < 4) return -1;
  let value: i32 = 0;
  for (let k: u32 = 0; k < 4; k++) {
    let b = <i32>load<u8>(ptr + i + k);
    let letter = b | 0x20; // A–F as a–f
    let digit = b >= 0x30 && b <= 0x39 ? b - 0x30 : letter >= 0x61 && letter <= 0x66 ? letter - 0x61 + 10 : -1;
    if (digit < 0) return -1;
    value = value << 4 | digit;
  }
  return value;
}
