// Specs for assembly/firmware/json.ts: numbers and literals written in place; texts read
// in place against RFC 8259's grammar, one table row per rule's edge.
import { writeAscii, writeBool, writeCenti, writeUint } from "../../assembly/firmware/json";
import { JSON_INVALID, MAX_JSON_DEPTH, skipSpace, skipString, skipValue, stringEquals } from "../../assembly/firmware/json";
import { bytesAt, place, repeat, utf8, resetFixtures } from "./support/bytes";

const OUT = memory.data(64);

function written(end: usize): u8[] {
  return bytesAt(OUT, <u32>(end - OUT));
}

describe("writeUint", () => {
  test("every digit count, and zero", () => {
    expect(written(writeUint(OUT, 0))).toStrictEqual(utf8("0"));
    expect(written(writeUint(OUT, 7))).toStrictEqual(utf8("7"));
    expect(written(writeUint(OUT, 10))).toStrictEqual(utf8("10"));
    expect(written(writeUint(OUT, 86400))).toStrictEqual(utf8("86400"));
    expect(written(writeUint(OUT, 4294967295))).toStrictEqual(utf8("4294967295"));
  });
});

describe("writeCenti", () => {
  test("two decimal places, sign and leading zero", () => {
    expect(written(writeCenti(OUT, 2500))).toStrictEqual(utf8("25.00"));
    expect(written(writeCenti(OUT, 2347))).toStrictEqual(utf8("23.47"));
    expect(written(writeCenti(OUT, 5))).toStrictEqual(utf8("0.05"));
    expect(written(writeCenti(OUT, 0))).toStrictEqual(utf8("0.00"));
    expect(written(writeCenti(OUT, -5))).toStrictEqual(utf8("-0.05"));
    expect(written(writeCenti(OUT, -4000))).toStrictEqual(utf8("-40.00"));
  });
});

describe("literals", () => {
  test("writeBool and writeAscii", () => {
    expect(written(writeBool(OUT, true))).toStrictEqual(utf8("true"));
    expect(written(writeBool(OUT, false))).toStrictEqual(utf8("false"));
    expect(written(writeAscii(OUT, "{\"seq\":"))).toStrictEqual(utf8("{\"seq\":"));
  });
});

// ---- reading ------------------------------------------------------------------------

/** A JSON text (RFC 8259 §2) and whether it is one. */
class TextCase {
  constructor(public name: string, public bytes: u8[], public valid: bool) {}
}

/** prefix, the raw bytes, then suffix. */
function spliced(prefix: string, raw: u8[], suffix: string): u8[] {
  return utf8(prefix).concat(raw).concat(utf8(suffix));
}

/** depth arrays one inside the other: [[…]]. */
function nestedArrays(depth: i32): u8[] {
  return repeat(0x5b, depth).concat(repeat(0x5d, depth));
}

/** depth objects one inside the other: {"a":{"a":…{}}}. */
function nestedObjects(depth: i32): u8[] {
  let bytes: u8[] = [];
  for (let i = 0; i < depth - 1; i++) bytes = bytes.concat(utf8('{"a":'));
  return bytes.concat(utf8("{}")).concat(repeat(0x7d, depth - 1));
}

/** True when the bytes are one JSON value with optional whitespace around it. */
function isJsonText(bytes: u8[]): bool {
  let ptr = place(bytes);
  let len = <u32>bytes.length;
  return skipSpace(ptr, len, skipValue(ptr, len, skipSpace(ptr, len, 0))) == len;
}

const TEXTS: TextCase[] = [
  // §2 structure and whitespace
  new TextCase("empty", [], false),
  new TextCase("only whitespace", utf8(" \t\r\n"), false),
  new TextCase("whitespace around", utf8(" \t\r\n[ 1 , 2 ]\n\r\t "), true),
  new TextCase("vertical tab is not whitespace", utf8("\v[]"), false),
  new TextCase("form feed is not whitespace", utf8("[]\f"), false),
  new TextCase("U+00A0 is not whitespace", spliced("[", [0xc2, 0xa0], "]"), false),
  new TextCase("byte order mark", spliced("", [0xef, 0xbb, 0xbf], "[]"), false),
  new TextCase("U+0000 after the value", spliced("[]", [0x00], ""), false),
  new TextCase("two values", utf8("1 2"), false),
  new TextCase("a byte after the value", utf8("[]x"), false),
  new TextCase("a scalar alone", utf8("7"), true),
  // §3 literals
  new TextCase("true", utf8("true"), true),
  new TextCase("false", utf8("false"), true),
  new TextCase("null", utf8("null"), true),
  new TextCase("cut literal", utf8("tru"), false),
  new TextCase("capitalised literal", utf8("True"), false),
  new TextCase("longer literal", utf8("nulll"), false),
  new TextCase("NaN", utf8("NaN"), false),
  new TextCase("Infinity", utf8("Infinity"), false),
  // §4 objects
  new TextCase("empty object", utf8("{}"), true),
  new TextCase("empty object, whitespace inside", utf8("{ \n }"), true),
  new TextCase("one member", utf8('{"a":1}'), true),
  new TextCase("members, whitespace everywhere", utf8('{ "a" : 1 , "b" : [ ] }'), true),
  new TextCase("empty name", utf8('{"":0}'), true),
  new TextCase("repeated name (the grammar allows it)", utf8('{"a":1,"a":2}'), true),
  new TextCase("unclosed object", utf8('{"a":1'), false),
  new TextCase("opening brace alone", utf8("{"), false),
  new TextCase("closing brace alone", utf8("}"), false),
  new TextCase("name without a value", utf8('{"a"}'), false),
  new TextCase("colon without a value", utf8('{"a":}'), false),
  new TextCase("no colon", utf8('{"a" 1}'), false),
  new TextCase("unquoted name", utf8("{a:1}"), false),
  new TextCase("number as name", utf8("{1:1}"), false),
  new TextCase("single-quoted name", utf8("{'a':1}"), false),
  new TextCase("trailing comma", utf8('{"a":1,}'), false),
  new TextCase("leading comma", utf8('{,"a":1}'), false),
  new TextCase("comma alone", utf8("{,}"), false),
  new TextCase("no comma", utf8('{"a":1 "b":2}'), false),
  new TextCase("object closed by a bracket", utf8('{"a":1]'), false),
  new TextCase("extra closing brace", utf8('{"a":1}}'), false),
  // §5 arrays
  new TextCase("empty array", utf8("[]"), true),
  new TextCase("elements of every kind", utf8('[1,"a",true,false,null,{},[],-0.5e3]'), true),
  new TextCase("nested containers", utf8('{"a":{"b":[1,{"c":null}],"d":[[]]}}'), true),
  new TextCase("unclosed array", utf8("[1,2"), false),
  new TextCase("opening bracket alone", utf8("["), false),
  new TextCase("trailing comma in an array", utf8("[1,]"), false),
  new TextCase("leading comma in an array", utf8("[,1]"), false),
  new TextCase("no comma in an array", utf8("[1 2]"), false),
  new TextCase("array closed by a brace", utf8("[1}"), false),
  new TextCase("member inside an array", utf8('["a":1]'), false),
  new TextCase("extra closing bracket", utf8("[1]]"), false),
  // §6 numbers
  new TextCase("zero", utf8("0"), true),
  new TextCase("minus zero", utf8("-0"), true),
  new TextCase("integer", utf8("123"), true),
  new TextCase("negative integer", utf8("-123"), true),
  new TextCase("fraction", utf8("0.5"), true),
  new TextCase("negative fraction", utf8("-10.25"), true),
  new TextCase("exponent", utf8("1e5"), true),
  new TextCase("capital exponent", utf8("1E5"), true),
  new TextCase("exponent with plus", utf8("1e+5"), true),
  new TextCase("exponent with minus", utf8("1e-05"), true),
  new TextCase("fraction and exponent", utf8("-1.5E-10"), true),
  new TextCase("long number", utf8("123456789012345678901234567890"), true),
  new TextCase("leading zero", utf8("01"), false),
  new TextCase("leading zeros", utf8("-007"), false),
  new TextCase("minus alone", utf8("-"), false),
  new TextCase("minus before a letter", utf8("-a"), false),
  new TextCase("double minus", utf8("--1"), false),
  new TextCase("plus sign", utf8("+1"), false),
  new TextCase("point without digits after", utf8("1."), false),
  new TextCase("point without digits before", utf8(".5"), false),
  new TextCase("point before an exponent", utf8("1.e5"), false),
  new TextCase("exponent without digits", utf8("1e"), false),
  new TextCase("exponent sign without digits", utf8("1e+"), false),
  new TextCase("hexadecimal", utf8("0x10"), false),
  new TextCase("two points", utf8("1.2.3"), false),
  // §7 strings
  new TextCase("empty string", utf8('""'), true),
  new TextCase("plain string", utf8('"abc"'), true),
  new TextCase("every two-byte escape", utf8('"\\" \\\\ \\/ \\b \\f \\n \\r \\t"'), true),
  new TextCase("\\u escape", utf8('"\\u0041"'), true),
  new TextCase("\\u escape, mixed case hex", utf8('"\\u00e9\\u00E9\\uAbCd"'), true),
  new TextCase("\\u0000 escaped", utf8('"\\u0000"'), true),
  new TextCase("surrogate pair", utf8('"\\uD834\\uDD1E"'), true),
  new TextCase("DEL unescaped (not a control character)", [0x22, 0x7f, 0x22], true),
  new TextCase("brackets and commas inside a string", utf8('["]},{[:"]'), true),
  new TextCase("UTF-8 of every width", utf8('"a\u00e9\u20ac\ud834\udd1e"'), true),
  new TextCase("unclosed string", utf8('"abc'), false),
  new TextCase("escaped closing quote only", utf8('"abc\\"'), false),
  new TextCase("single quotes", utf8("'a'"), false),
  new TextCase("unknown escape \\x", utf8('"\\x"'), false),
  new TextCase("escaped apostrophe", utf8('"\\\'"'), false),
  new TextCase("escaped space", utf8('"\\ "'), false),
  new TextCase("capital \\U", utf8('"\\U0041"'), false),
  new TextCase("\\u with three hex digits", utf8('"\\u12"'), false),
  new TextCase("\\u with a non-hex digit", utf8('"\\u12G4"'), false),
  new TextCase("\\u with a control byte as a digit", spliced('"\\u001', [0x10], '"'), false),
  new TextCase("backslash at the end", utf8('"\\'), false),
  new TextCase("lone high surrogate", utf8('"\\uD834"'), false),
  new TextCase("lone low surrogate", utf8('"\\uDD1E"'), false),
  new TextCase("high surrogate before a non-surrogate", utf8('"\\uD834\\u0041"'), false),
  new TextCase("high surrogate before a character", utf8('"\\uD834x"'), false),
  new TextCase("high surrogate, a character, then a low half unescaped", utf8('"\\uD834xuDD1E"'), false),
  new TextCase("two high surrogates", utf8('"\\uD834\\uD834"'), false),
  new TextCase("two low surrogates", utf8('"\\uDD1E\\uDD1E"'), false),
  new TextCase("pair in the wrong order", utf8('"\\uDD1E\\uD834"'), false),
  new TextCase("raw tab", utf8('"a\tb"'), false),
  new TextCase("raw line feed", utf8('"a\nb"'), false),
  new TextCase("raw U+0000", [0x22, 0x00, 0x22], false),
  new TextCase("raw U+001F", [0x22, 0x1f, 0x22], false),
  // §8.1 UTF-8
  new TextCase("lone continuation byte", spliced('"', [0x80], '"'), false),
  new TextCase("overlong U+0000", spliced('"', [0xc0, 0x80], '"'), false),
  new TextCase("UTF-8 of a surrogate", spliced('"', [0xed, 0xa0, 0x80], '"'), false),
  new TextCase("above U+10FFFF", spliced('"', [0xf4, 0x90, 0x80, 0x80], '"'), false),
  new TextCase("lead byte FF", spliced('"', [0xff], '"'), false),
  new TextCase("sequence cut by the closing quote", spliced('"', [0xe2, 0x82], '"'), false),
  new TextCase("non-ASCII outside a string", spliced("[", [0xc3, 0xa9], "]"), false),
  // §9 nesting limit
  new TextCase("arrays MAX_JSON_DEPTH deep", nestedArrays(<i32>MAX_JSON_DEPTH), true),
  new TextCase("arrays one deeper", nestedArrays(<i32>MAX_JSON_DEPTH + 1), false),
  new TextCase("objects MAX_JSON_DEPTH deep", nestedObjects(<i32>MAX_JSON_DEPTH), true),
  new TextCase("objects one deeper", nestedObjects(<i32>MAX_JSON_DEPTH + 1), false),
  new TextCase("ten thousand open brackets", repeat(0x5b, 10000), false),
];

describe("skipValue", () => {
  beforeEach(resetFixtures);

  test("accepts RFC 8259 texts and refuses every rule's violation", () => {
    for (let i = 0; i < TEXTS.length; i++) {
      let c = TEXTS[i];
      expect(isJsonText(c.bytes)).toBe(c.valid, c.name);
    }
  });

  test("MAX_JSON_DEPTH is 64", () => {
    expect(MAX_JSON_DEPTH).toBe(64);
  });

  test("returns the index right after the value, whatever follows", () => {
    let bytes = utf8('[1, {"a":"]"}] ,x');
    expect(skipValue(place(bytes), <u32>bytes.length, 0)).toBe(14);
    let number = utf8("-1.5e3,");
    expect(skipValue(place(number), <u32>number.length, 0)).toBe(6);
  });

  test("refuses whitespace before the value (the caller skips it)", () => {
    let bytes = utf8(" 1");
    expect(skipValue(place(bytes), <u32>bytes.length, 0)).toBe(JSON_INVALID);
  });

  test("reads only the len bytes it is given", () => {
    let ptr = place(utf8("[1]"));
    expect(skipValue(ptr, 2, 0)).toBe(JSON_INVALID, "[1");
    expect(skipValue(ptr, 3, 0)).toBe(3);
    expect(skipValue(place(utf8("true")), 3, 0)).toBe(JSON_INVALID, "tru");
    expect(skipValue(place(utf8("false")), 4, 0)).toBe(JSON_INVALID, "fals");
    expect(skipValue(place(utf8("1e5")), 2, 0)).toBe(JSON_INVALID, "1e");
    expect(skipValue(place(utf8('"ab"')), 3, 0)).toBe(JSON_INVALID, '"ab');
    expect(skipValue(place(utf8('"\\u0041"')), 6, 0)).toBe(JSON_INVALID, '"\\u004');
    expect(skipValue(place(utf8('"\\uD834\\uDD1E"')), 12, 0)).toBe(JSON_INVALID, '"\\uD834\\uDD1');
  });
});

/** A string token and the ASCII text it may mean. */
class NameCase {
  constructor(public token: string, public literal: string, public equal: bool) {}
}

const NAMES: NameCase[] = [
  new NameCase('"relay"', "relay", true),
  new NameCase('"re\\u006cay"', "relay", true),
  new NameCase('"\\u0072\\u0065\\u006C\\u0061\\u0079"', "relay", true),
  new NameCase('"a\\/b\\\\c\\"d\\n"', 'a/b\\c"d\n', true),
  new NameCase('""', "", true),
  new NameCase('"rela"', "relay", false),
  new NameCase('"relays"', "relay", false),
  new NameCase('"Relay"', "relay", false),
  new NameCase('"relay\\u0000"', "relay", false),
  new NameCase('"\\uD834\\uDD1E"', "ab", false),
];

describe("stringEquals", () => {
  beforeEach(resetFixtures);

  test("compares the unescaped string with an ASCII literal", () => {
    for (let i = 0; i < NAMES.length; i++) {
      let c = NAMES[i];
      let bytes = utf8(c.token);
      let ptr = place(bytes);
      let end = skipString(ptr, <u32>bytes.length, 0);
      expect(end).toBe(<u32>bytes.length, c.token);
      expect(stringEquals(ptr, 0, end, c.literal)).toBe(c.equal, c.token);
    }
  });
});
